"""Board version on projects: bumped by every card or comment change, the board's ETag.

Revision ID: 734731594919
Revises: 11d2c0c54e56
Create Date: 2026-11-24 18:50:00

"""
from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = '734731594919'
down_revision = '11d2c0c54e56'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('projects', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('board_version', sa.Integer(), server_default='0', nullable=False)
        )


def downgrade():
    with op.batch_alter_table('projects', schema=None) as batch_op:
        batch_op.drop_column('board_version')
