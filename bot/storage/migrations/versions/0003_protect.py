"""data protection: encrypted columns become text, keyed hashes for phone and chat id lookups

Revision ID: 0003_protect
Revises: 0002
Create Date: 2026-12-03 13:00:00

Names, phone numbers, Telegram chat ids, message bodies and addresses, answers, alert evidence,
outcomes, notes and event details are stored encrypted (bot/keyring.py), so their columns become
unbounded text. Uniqueness of phone and chat id moves to their keyed hashes. A migration holds no
keys: existing rows stay in clear until the service starts (hashes are filled in then) and
`checkins rotate-key` encrypts them.
"""
from alembic import op
import sqlalchemy as sa


revision = '0003_protect'
down_revision = '0003_flows'
branch_labels = None
depends_on = None

# SQLite's unique constraints from 0001 have no names: give them names to drop them by.
NAMING = {"uq": "uq_%(table_name)s_%(column_0_name)s"}

TEXT_COLUMNS = {
    'staff': ('phone', 'telegram_chat_id'),
    'mentees': ('first_name', 'last_name', 'phone', 'telegram_chat_id'),
    'messages': ('address',),
    'alerts': ('evidence',),
    'alert_events': ('detail',),
    'risk_flags': ('evidence',),
}


def _unique_name(table: str, column: str) -> str:
    if op.get_bind().dialect.name == 'postgresql':
        return f'{table}_{column}_key'
    return f'uq_{table}_{column}'


def upgrade() -> None:
    for table in ('staff', 'mentees'):
        with op.batch_alter_table(table, naming_convention=NAMING) as batch_op:
            for column in ('phone', 'telegram_chat_id'):
                batch_op.drop_constraint(_unique_name(table, column), type_='unique')
            batch_op.add_column(sa.Column('phone_hash', sa.String(length=64), nullable=True))
            batch_op.add_column(sa.Column('telegram_chat_id_hash', sa.String(length=64), nullable=True))
            batch_op.create_unique_constraint(f'uq_{table}_phone_hash', ['phone_hash'])
            batch_op.create_unique_constraint(f'uq_{table}_telegram_chat_id_hash', ['telegram_chat_id_hash'])
    for table, columns in TEXT_COLUMNS.items():
        with op.batch_alter_table(table) as batch_op:
            for column in columns:
                batch_op.alter_column(column, type_=sa.Text())
    with op.batch_alter_table('conversations') as batch_op:
        batch_op.alter_column('answers', type_=sa.Text(), postgresql_using='answers::text')


def downgrade() -> None:
    # Only a database whose values are in clear can go back (there is no key here to decrypt).
    with op.batch_alter_table('conversations') as batch_op:
        batch_op.alter_column('answers', type_=sa.JSON(), postgresql_using='answers::json')
    lengths = {('staff', 'phone'): 20, ('staff', 'telegram_chat_id'): 32, ('mentees', 'first_name'): 80,
               ('mentees', 'last_name'): 80, ('mentees', 'phone'): 20, ('mentees', 'telegram_chat_id'): 32,
               ('messages', 'address'): 64, ('alerts', 'evidence'): 300, ('alert_events', 'detail'): 300,
               ('risk_flags', 'evidence'): 300}
    for table, columns in TEXT_COLUMNS.items():
        with op.batch_alter_table(table) as batch_op:
            for column in columns:
                batch_op.alter_column(column, type_=sa.String(length=lengths[(table, column)]))
    for table in ('staff', 'mentees'):
        with op.batch_alter_table(table) as batch_op:
            batch_op.drop_constraint(f'uq_{table}_telegram_chat_id_hash', type_='unique')
            batch_op.drop_constraint(f'uq_{table}_phone_hash', type_='unique')
            batch_op.drop_column('telegram_chat_id_hash')
            batch_op.drop_column('phone_hash')
            batch_op.create_unique_constraint(_unique_name(table, 'phone'), ['phone'])
            batch_op.create_unique_constraint(_unique_name(table, 'telegram_chat_id'), ['telegram_chat_id'])
