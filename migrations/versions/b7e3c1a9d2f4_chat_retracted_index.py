"""A partial index on retracted chat messages, so a rejoin's retraction lookup no longer walks the room.

Revision ID: b7e3c1a9d2f4
Revises: ea2c73af6414
Create Date: 2026-11-26 07:40:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'b7e3c1a9d2f4'
down_revision = 'ea2c73af6414'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('chat_messages', schema=None) as batch_op:
        batch_op.create_index(
            'ix_chat_messages_room_retracted',
            ['room_id', 'id', 'removed_by_id', 'deleted_at'],
            unique=False,
            sqlite_where=sa.text('deleted_at IS NOT NULL'),
            postgresql_where=sa.text('deleted_at IS NOT NULL'),
        )


def downgrade():
    with op.batch_alter_table('chat_messages', schema=None) as batch_op:
        batch_op.drop_index('ix_chat_messages_room_retracted')
