"""Comments remember when they were last edited (null: never; existing ones never were).

Revision ID: 7dd8539a4a7c
Revises: 0f1448306748
Create Date: 2026-12-02 07:01:25.925898

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '7dd8539a4a7c'
down_revision = '0f1448306748'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('comments', schema=None) as batch_op:
        batch_op.add_column(sa.Column('edited_at', sa.DateTime(timezone=True), nullable=True))



def downgrade():
    with op.batch_alter_table('comments', schema=None) as batch_op:
        batch_op.drop_column('edited_at')

