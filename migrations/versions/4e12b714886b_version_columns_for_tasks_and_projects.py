"""Version columns for tasks and projects (ETag / If-Match, the edit form's version).

Existing rows start at version 1.

Revision ID: 4e12b714886b
Revises: e0d442fe7f8a
Create Date: 2026-11-24 18:55:34.206707

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '4e12b714886b'
down_revision = 'e0d442fe7f8a'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('projects', schema=None) as batch_op:
        batch_op.add_column(sa.Column('version', sa.Integer(), server_default='1', nullable=False))

    with op.batch_alter_table('tasks', schema=None) as batch_op:
        batch_op.add_column(sa.Column('version', sa.Integer(), server_default='1', nullable=False))



def downgrade():
    with op.batch_alter_table('tasks', schema=None) as batch_op:
        batch_op.drop_column('version')

    with op.batch_alter_table('projects', schema=None) as batch_op:
        batch_op.drop_column('version')

