"""Board columns, labels and checklists.

Every project gets the three default columns ("To Do", "In Progress", "Done", one per
category), and each card moves into the column of its status keeping its position, so
every board looks as it did.

Revision ID: 4e2529196383
Revises: 7dd8539a4a7c
Create Date: 2026-12-02 09:11:01.682739

"""
import uuid
from datetime import datetime, timezone

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '4e2529196383'
down_revision = '7dd8539a4a7c'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('board_columns',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('project_id', sa.Uuid(), nullable=False),
    sa.Column('name', sa.String(length=60), nullable=False),
    sa.Column('name_key', sa.String(length=60), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('category', sa.SmallInteger(), nullable=False),
    sa.Column('wip_limit', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('category BETWEEN 0 AND 2', name=op.f('ck_board_columns_category_known')),
    sa.CheckConstraint('wip_limit IS NULL OR wip_limit BETWEEN 1 AND 999', name=op.f('ck_board_columns_wip_in_range')),
    sa.ForeignKeyConstraint(['project_id'], ['projects.id'], name=op.f('fk_board_columns_project_id_projects'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_board_columns')),
    sa.UniqueConstraint('project_id', 'name_key', name='uq_board_columns_name')
    )
    with op.batch_alter_table('board_columns', schema=None) as batch_op:
        batch_op.create_index('ix_board_columns_project_position', ['project_id', 'position'], unique=False)

    op.create_table('labels',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('project_id', sa.Uuid(), nullable=False),
    sa.Column('name', sa.String(length=40), nullable=False),
    sa.Column('name_key', sa.String(length=40), nullable=False),
    sa.Column('color', sa.String(length=8), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['project_id'], ['projects.id'], name=op.f('fk_labels_project_id_projects'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_labels')),
    sa.UniqueConstraint('project_id', 'name_key', name='uq_labels_name')
    )
    op.create_table('checklist_items',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('task_id', sa.Uuid(), nullable=False),
    sa.Column('text', sa.String(length=500), nullable=False),
    sa.Column('done', sa.Boolean(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['task_id'], ['tasks.id'], name=op.f('fk_checklist_items_task_id_tasks'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_checklist_items'))
    )
    with op.batch_alter_table('checklist_items', schema=None) as batch_op:
        batch_op.create_index('ix_checklist_items_task_position', ['task_id', 'position'], unique=False)

    op.create_table('task_labels',
    sa.Column('task_id', sa.Uuid(), nullable=False),
    sa.Column('label_id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['label_id'], ['labels.id'], name=op.f('fk_task_labels_label_id_labels'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['task_id'], ['tasks.id'], name=op.f('fk_task_labels_task_id_tasks'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('task_id', 'label_id', name=op.f('pk_task_labels'))
    )
    with op.batch_alter_table('task_labels', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_task_labels_label_id'), ['label_id'], unique=False)

    with op.batch_alter_table('tasks', schema=None) as batch_op:
        batch_op.add_column(sa.Column('column_id', sa.Uuid(), nullable=True))
        batch_op.add_column(sa.Column('checklist_total', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('checklist_done', sa.Integer(), server_default='0', nullable=False))

    _default_columns()

    with op.batch_alter_table('tasks', schema=None) as batch_op:
        batch_op.alter_column('column_id', existing_type=sa.Uuid(), nullable=False)
        batch_op.create_index('ix_tasks_column_position', ['column_id', 'position'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_tasks_column_id_board_columns'), 'board_columns', ['column_id'], ['id'])


# The first wave's statuses, as stored (a small integer each), with their column names.
DEFAULT_COLUMNS = ((0, 'To Do'), (1, 'In Progress'), (2, 'Done'))


def _default_columns():
    """Three columns per project, and every card into the one of its status."""
    bind = op.get_bind()
    projects = sa.table('projects', sa.column('id', sa.Uuid()))
    columns = sa.table(
        'board_columns',
        sa.column('id', sa.Uuid()),
        sa.column('project_id', sa.Uuid()),
        sa.column('name', sa.String()),
        sa.column('name_key', sa.String()),
        sa.column('position', sa.Integer()),
        sa.column('category', sa.SmallInteger()),
        sa.column('created_at', sa.DateTime(timezone=True)),
    )
    tasks = sa.table(
        'tasks',
        sa.column('project_id', sa.Uuid()),
        sa.column('status', sa.SmallInteger()),
        sa.column('column_id', sa.Uuid()),
    )
    now = datetime.now(timezone.utc)
    if bind.dialect.name == 'sqlite':
        now = now.replace(tzinfo=None)  # stored as naive UTC there, as the app does
    project_ids = [row[0] for row in bind.execute(sa.select(projects.c.id))]
    rows = [
        {
            'id': uuid.uuid4(),
            'project_id': project_id,
            'name': name,
            'name_key': name.casefold(),
            'position': category,
            'category': category,
            'created_at': now,
        }
        for project_id in project_ids
        for category, name in DEFAULT_COLUMNS
    ]
    for start in range(0, len(rows), 500):
        bind.execute(columns.insert(), rows[start:start + 500])
    bind.execute(
        tasks.update().values(
            column_id=sa.select(columns.c.id)
            .where(
                columns.c.project_id == tasks.c.project_id,
                columns.c.category == tasks.c.status,
            )
            .scalar_subquery()
        )
    )


def downgrade():
    # Cards keep their status; their positions are renumbered per status, as the first
    # wave's columns were the statuses.
    bind = op.get_bind()
    rows = bind.execute(sa.text(
        'SELECT t.id, t.project_id, t.status FROM tasks t '
        'JOIN board_columns c ON c.id = t.column_id '
        'ORDER BY t.project_id, t.status, c.position, t.position'
    )).all()
    counters = {}
    for task_id, project_id, status in rows:
        key = (project_id, status)
        position = counters.get(key, 0)
        counters[key] = position + 1
        bind.execute(
            sa.text('UPDATE tasks SET position = :position WHERE id = :id'),
            {'position': position, 'id': task_id},
        )
    with op.batch_alter_table('tasks', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_tasks_column_id_board_columns'), type_='foreignkey')
        batch_op.drop_index('ix_tasks_column_position')
        batch_op.drop_column('checklist_done')
        batch_op.drop_column('checklist_total')
        batch_op.drop_column('column_id')

    with op.batch_alter_table('task_labels', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_task_labels_label_id'))

    op.drop_table('task_labels')
    with op.batch_alter_table('checklist_items', schema=None) as batch_op:
        batch_op.drop_index('ix_checklist_items_task_position')

    op.drop_table('checklist_items')
    op.drop_table('labels')
    with op.batch_alter_table('board_columns', schema=None) as batch_op:
        batch_op.drop_index('ix_board_columns_project_position')

    op.drop_table('board_columns')
