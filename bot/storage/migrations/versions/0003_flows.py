"""flows as files, the right flow per person, safe contact, mentor matching (issue 13)

Revision ID: 0003_flows
Revises: 0002
"""
from alembic import op
import sqlalchemy as sa
import bot.storage.models


revision = '0003_flows'
down_revision = '0003_scale'
branch_labels = None
depends_on = None

_MENTEE = [
    sa.Column('flow', sa.String(length=40), nullable=True),
    sa.Column('language', sa.String(length=8), server_default='en', nullable=False),
    sa.Column('safe_windows', sa.String(length=120), nullable=True),
    sa.Column('discreet', sa.Boolean(), server_default=sa.text('false'), nullable=False),
    sa.Column('code_word', sa.String(length=40), nullable=True),
    sa.Column('hold_until', bot.storage.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('safe_check', sa.String(length=12), nullable=True),
    sa.Column('gender', sa.String(length=20), nullable=True),
    sa.Column('mentor_gender', sa.String(length=20), nullable=True),
    sa.Column('area', sa.String(length=80), nullable=True),
    sa.Column('languages', sa.String(length=80), nullable=True),
    sa.Column('needs', sa.String(length=200), nullable=True),
]
_STAFF = [
    sa.Column('gender', sa.String(length=20), nullable=True),
    sa.Column('area', sa.String(length=80), nullable=True),
    sa.Column('languages', sa.String(length=80), nullable=True),
    sa.Column('lived_experience', sa.String(length=200), nullable=True),
    sa.Column('skills', sa.String(length=200), nullable=True),
    sa.Column('caseload_limit', sa.Integer(), nullable=True),
]


def upgrade() -> None:
    op.create_table('flow_versions',
    sa.Column('name', sa.String(length=40), nullable=False),
    sa.Column('digest', sa.String(length=16), nullable=False),
    sa.Column('source', sa.String(length=300), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('first_used_at', bot.storage.models.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('name', 'digest')
    )
    op.create_table('mentor_assignments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('mentee_id', sa.Integer(), nullable=False),
    sa.Column('staff_id', sa.Integer(), nullable=False),
    sa.Column('chosen_by', sa.String(length=120), nullable=False),
    sa.Column('reason', sa.String(length=300), nullable=False),
    sa.Column('at', bot.storage.models.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['mentee_id'], ['mentees.id'], ),
    sa.ForeignKeyConstraint(['staff_id'], ['staff.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('mentor_assignments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_mentor_assignments_mentee_id'), ['mentee_id'], unique=False)
    with op.batch_alter_table('mentees', schema=None) as batch_op:
        for column in _MENTEE:
            batch_op.add_column(column)
    with op.batch_alter_table('staff', schema=None) as batch_op:
        for column in _STAFF:
            batch_op.add_column(column)
    with op.batch_alter_table('conversations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('flow_hash', sa.String(length=16), nullable=True))
    with op.batch_alter_table('due_events', schema=None) as batch_op:
        batch_op.add_column(sa.Column('flow', sa.String(length=40), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('due_events', schema=None) as batch_op:
        batch_op.drop_column('flow')
    with op.batch_alter_table('conversations', schema=None) as batch_op:
        batch_op.drop_column('flow_hash')
    with op.batch_alter_table('staff', schema=None) as batch_op:
        for column in reversed(_STAFF):
            batch_op.drop_column(column.name)
    with op.batch_alter_table('mentees', schema=None) as batch_op:
        for column in reversed(_MENTEE):
            batch_op.drop_column(column.name)
    with op.batch_alter_table('mentor_assignments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_mentor_assignments_mentee_id'))
    op.drop_table('mentor_assignments')
    op.drop_table('flow_versions')
