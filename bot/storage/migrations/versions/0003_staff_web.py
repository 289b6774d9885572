"""staff web app: sign-in codes, sign-in attempts, staff sessions

Revision ID: 0003_staff_web
Revises: 0002
"""
from alembic import op
import sqlalchemy as sa
import bot.storage.models


revision = '0003_staff_web'
down_revision = '0002'
branch_labels = None
depends_on = None

_AT = bot.storage.models.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table('signin_codes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('staff_id', sa.Integer(), nullable=False),
    sa.Column('salt', sa.String(length=32), nullable=False),
    sa.Column('code_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', _AT, nullable=False),
    sa.Column('expires_at', _AT, nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('used_at', _AT, nullable=True),
    sa.ForeignKeyConstraint(['staff_id'], ['staff.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('signin_codes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_signin_codes_staff_id'), ['staff_id'], unique=False)

    op.create_table('signin_attempts',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('kind', sa.String(length=12), nullable=False),
    sa.Column('address_key', sa.String(length=64), nullable=False),
    sa.Column('client', sa.String(length=64), nullable=False),
    sa.Column('at', _AT, nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('signin_attempts', schema=None) as batch_op:
        batch_op.create_index('ix_signin_attempts_at', ['at'], unique=False)
        batch_op.create_index(batch_op.f('ix_signin_attempts_address_key'), ['address_key'], unique=False)
        batch_op.create_index(batch_op.f('ix_signin_attempts_client'), ['client'], unique=False)

    op.create_table('staff_sessions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('staff_id', sa.Integer(), nullable=False),
    sa.Column('created_at', _AT, nullable=False),
    sa.Column('last_seen_at', _AT, nullable=False),
    sa.Column('ended_at', _AT, nullable=True),
    sa.Column('ended_why', sa.String(length=20), nullable=True),
    sa.Column('client', sa.String(length=64), nullable=False),
    sa.Column('user_agent', sa.String(length=200), nullable=False),
    sa.ForeignKeyConstraint(['staff_id'], ['staff.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('token_hash')
    )
    with op.batch_alter_table('staff_sessions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_staff_sessions_staff_id'), ['staff_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('staff_sessions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_staff_sessions_staff_id'))
    op.drop_table('staff_sessions')
    with op.batch_alter_table('signin_attempts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_signin_attempts_client'))
        batch_op.drop_index(batch_op.f('ix_signin_attempts_address_key'))
        batch_op.drop_index('ix_signin_attempts_at')
    op.drop_table('signin_attempts')
    with op.batch_alter_table('signin_codes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_signin_codes_staff_id'))
    op.drop_table('signin_codes')
