"""create tables

Revision ID: 0001
Revises: 
Create Date: 2026-12-04

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import sqlmodel


# revision identifiers, used by Alembic.
revision: str = '0001'
down_revision: Union[str, Sequence[str], None] = None
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table('team',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('slug', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('webhook_secret_enc', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('team', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_team_slug'), ['slug'], unique=True)

    op.create_table('bookingpage',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('team_id', sa.Integer(), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('event_type_uid', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('public_url', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('host_emails', sa.JSON(), nullable=False),
    sa.Column('integration_enabled', sa.Boolean(), nullable=False),
    sa.Column('create_lead_for_new', sa.Boolean(), nullable=False),
    sa.Column('create_event_for_existing', sa.Boolean(), nullable=False),
    sa.Column('create_event_on_new_lead', sa.Boolean(), nullable=False),
    sa.Column('lead_owner_id', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('event_owner_rule', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('event_owner_id', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('fallback_owner_id', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('subject_template', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('cancellation_action', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('name_mode', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('lead_source', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('answer_mapping', sa.JSON(), nullable=False),
    sa.Column('updated_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['team_id'], ['team.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('team_id', 'event_type_uid')
    )
    with op.batch_alter_table('bookingpage', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_bookingpage_team_id'), ['team_id'], unique=False)

    op.create_table('bookingrecord',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('team_id', sa.Integer(), nullable=False),
    sa.Column('booking_uid', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('who_id', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('lead_id', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('event_id', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('applied_updated_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('cancelled', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['team_id'], ['team.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('team_id', 'booking_uid')
    )
    op.create_table('oauthstate',
    sa.Column('state', sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
    sa.Column('team_id', sa.Integer(), nullable=False),
    sa.Column('code_verifier_enc', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('login_url', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('redirect_uri', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('expires_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['team_id'], ['team.id'], ),
    sa.PrimaryKeyConstraint('state')
    )
    op.create_table('outboxevent',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('team_id', sa.Integer(), nullable=False),
    sa.Column('dedupe_key', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
    sa.Column('event_type', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('booking_uid', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('event_type_uid', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('object_updated_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('payload', sa.JSON(), nullable=False),
    sa.Column('received_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('claimed_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['team_id'], ['team.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('team_id', 'dedupe_key')
    )
    with op.batch_alter_table('outboxevent', schema=None) as batch_op:
        batch_op.create_index('ix_outbox_due', ['status', 'next_attempt_at'], unique=False)

    op.create_table('salesforceconnection',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('team_id', sa.Integer(), nullable=False),
    sa.Column('login_url', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('consumer_key', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('consumer_secret_enc', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('access_token_enc', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('refresh_token_enc', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('instance_url', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('org_id', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('user_id', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('username', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('api_version', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('connected_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('last_error_code', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('api_usage_used', sa.Integer(), nullable=True),
    sa.Column('api_usage_max', sa.Integer(), nullable=True),
    sa.Column('api_usage_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['team_id'], ['team.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('team_id')
    )
    with op.batch_alter_table('salesforceconnection', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_salesforceconnection_org_id'), ['org_id'], unique=False)

    op.create_table('synclog',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('team_id', sa.Integer(), nullable=False),
    sa.Column('outbox_id', sa.Integer(), nullable=False),
    sa.Column('booking_page_id', sa.Integer(), nullable=True),
    sa.Column('booking_uid', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('event_type', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('guest_email', sqlmodel.sql.sqltypes.AutoString(length=320), nullable=False),
    sa.Column('guest_name', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('outcome', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('records', sa.JSON(), nullable=False),
    sa.Column('api_calls', sa.Integer(), nullable=False),
    sa.Column('duration_ms', sa.Integer(), nullable=False),
    sa.Column('detail_key', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('detail_params', sa.JSON(), nullable=False),
    sa.Column('error_code', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('error_message', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('next_step_key', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('next_step_params', sa.JSON(), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('updated_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['booking_page_id'], ['bookingpage.id'], ),
    sa.ForeignKeyConstraint(['outbox_id'], ['outboxevent.id'], ),
    sa.ForeignKeyConstraint(['team_id'], ['team.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('outbox_id')
    )
    with op.batch_alter_table('synclog', schema=None) as batch_op:
        batch_op.create_index('ix_synclog_team_created', ['team_id', 'created_at'], unique=False)
        batch_op.create_index('ix_synclog_team_email', ['team_id', 'guest_email'], unique=False)
        batch_op.create_index('ix_synclog_team_outcome', ['team_id', 'outcome'], unique=False)
        batch_op.create_index('ix_synclog_team_page', ['team_id', 'booking_page_id'], unique=False)



def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table('synclog', schema=None) as batch_op:
        batch_op.drop_index('ix_synclog_team_page')
        batch_op.drop_index('ix_synclog_team_outcome')
        batch_op.drop_index('ix_synclog_team_email')
        batch_op.drop_index('ix_synclog_team_created')

    op.drop_table('synclog')
    with op.batch_alter_table('salesforceconnection', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_salesforceconnection_org_id'))

    op.drop_table('salesforceconnection')
    with op.batch_alter_table('outboxevent', schema=None) as batch_op:
        batch_op.drop_index('ix_outbox_due')

    op.drop_table('outboxevent')
    op.drop_table('oauthstate')
    op.drop_table('bookingrecord')
    with op.batch_alter_table('bookingpage', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_bookingpage_team_id'))

    op.drop_table('bookingpage')
    with op.batch_alter_table('team', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_team_slug'))

    op.drop_table('team')
