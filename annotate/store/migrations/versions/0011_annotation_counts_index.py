"""A covering index for counting a project's answers by annotator kind (#17 item 4).

`annotate status` counts a project's annotations per annotator kind; without an index on
`project_id` that read every row of the table (values, metas and all: the slowest of its
counts at 100k items). (project_id, annotator_kind) answers it from the index alone, and
narrows the candidate-choice query (human answers of one project) too. annotator_id comes
third: without it SQLite preferred this index to ix_annotations_annotator for a person's
answers in a project (history's count took 350 ms at 1M items instead of a few).

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-26
"""

from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_annotations_project_kind", "annotations",
                    ["project_id", "annotator_kind", "annotator_id"])


def downgrade() -> None:
    op.drop_index("ix_annotations_project_kind", table_name="annotations")
