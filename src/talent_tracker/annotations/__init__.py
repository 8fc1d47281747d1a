"""Analysts' annotations, in three parts:

- `sheet`: annotation sheets (CSV) validated and imported into the workspace;
- `workflow`: the web workflow's storage: users and tokens, versioned submissions,
  settlement into `annotations`, the audit log;
- `review`: disagreements between annotators, and reviewers' decisions.

All of it lives in the workspace (workspace.py), never in the rebuilt database.
"""

from .sheet import ANNOTATION_COLUMNS, AnnotationFields, ImportReport, import_sheet, read_sheet, validate, validate_row
from .workflow import ROLES, User, add_user

__all__ = [
           "ANNOTATION_COLUMNS",
           "ROLES",
           "AnnotationFields",
           "ImportReport",
           "User",
           "add_user",
           "import_sheet",
           "read_sheet",
           "validate",
           "validate_row",
]
