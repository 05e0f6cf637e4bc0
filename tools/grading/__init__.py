"""The course grader: ./course grade (tools/grade.py is the command line)."""
