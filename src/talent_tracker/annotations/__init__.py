"""Analysts' annotations, in three parts:

- `sheet`: annotation sheets (CSV) read and validated;
- `workflow`: the workflow's storage: users and tokens, versioned submissions (from the
  web form or a sheet's rows: `import_sheet`), settlement into `annotations`, the audit log;
- `review`: disagreements between annotators, and reviewers' decisions.

All of it lives in the workspace (store/workspace.py), never in the rebuilt database.
"""

from talent_tracker.annotations.sheet import (
           ANNOTATION_COLUMNS,
           AnnotationFields,
           ImportReport,
           read_sheet,
           validate,
           validate_row,
)
from talent_tracker.annotations.workflow import ROLES, User, add_user, import_sheet

__all__ = ["ANNOTATION_COLUMNS", "ROLES", "AnnotationFields", "ImportReport", "User", "add_user", "import_sheet",
           "read_sheet", "validate", "validate_row"]
