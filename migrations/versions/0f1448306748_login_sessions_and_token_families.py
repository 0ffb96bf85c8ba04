"""Login sessions (logout ends one on the server) and token families (a login's pairs).

A session cookie now names its login session, so cookies from before this revision no
longer work: everyone logs in once more. Existing token pairs each become a family of one.

Revision ID: 0f1448306748
Revises: 734731594919
Create Date: 2026-12-02 05:59:20.755639

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0f1448306748'
down_revision = '734731594919'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('login_sessions',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('user_id', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_seen_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_login_sessions_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_login_sessions'))
    )
    with op.batch_alter_table('login_sessions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_login_sessions_user_id'), ['user_id'], unique=False)

    with op.batch_alter_table('auth_tokens', schema=None) as batch_op:
        batch_op.add_column(sa.Column('family_id', sa.Uuid(), nullable=True))
    op.execute("UPDATE auth_tokens SET family_id = id")
    with op.batch_alter_table('auth_tokens', schema=None) as batch_op:
        batch_op.alter_column('family_id', existing_type=sa.Uuid(), nullable=False)
        batch_op.create_index(batch_op.f('ix_auth_tokens_family_id'), ['family_id'], unique=False)


def downgrade():
    with op.batch_alter_table('auth_tokens', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_auth_tokens_family_id'))
        batch_op.drop_column('family_id')

    with op.batch_alter_table('login_sessions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_login_sessions_user_id'))

    op.drop_table('login_sessions')
