"""keep credentials with the pending authorization

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-04

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import sqlmodel


# revision identifiers, used by Alembic.
revision: str = '0004'
down_revision: Union[str, Sequence[str], None] = '0003'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    with op.batch_alter_table('oauthstate', schema=None) as batch_op:
        batch_op.add_column(sa.Column('consumer_key', sqlmodel.sql.sqltypes.AutoString(), nullable=True))
        batch_op.add_column(sa.Column('consumer_secret_enc', sqlmodel.sql.sqltypes.AutoString(), nullable=True))


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table('oauthstate', schema=None) as batch_op:
        batch_op.drop_column('consumer_secret_enc')
        batch_op.drop_column('consumer_key')
