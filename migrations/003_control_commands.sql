-- Operator commands (Slack /pause, /resume, /reset-guard, /ml-status, /performance,
-- /positions) and their answers, as the control layer (ml_signals/control) journals them.
-- One row per command, keyed by the transport's id (Slack: the Socket Mode envelope id):
-- written as 'pending' when accepted, rewritten with the answer.
--
-- Apply after 001_journal.sql:
--   psql "$DATABASE_URL" -v ON_ERROR_STOP=1 -f migrations/003_control_commands.sql
-- It is safe to run again (IF NOT EXISTS everywhere).

begin;

create table if not exists public.control_commands (
    command_id text primary key,
    transport text not null,
    command text not null check (command <> ''),
    args text not null default '',
    user_id text not null,
    user_name text not null default '',
    authorised boolean not null,
    outcome text not null
        check (outcome in ('pending', 'ok', 'refused', 'rejected', 'error')),
    answer text not null default '',
    requested_s double precision not null,
    answered_s double precision,
    requested_at timestamptz generated always as (to_timestamp(requested_s)) stored,
    constraint control_commands_answered check ((answered_s is null) = (outcome = 'pending'))
);
create index if not exists control_commands_requested on public.control_commands (requested_s);
comment on table public.control_commands is
    'Operator commands and their answers (natural id: the transport''s command id).';

alter table public.control_commands enable row level security;

do $$
begin
    if exists (select 1 from pg_roles where rolname = 'service_role') then
        grant select, insert, update, delete on public.control_commands to service_role;
    end if;
end
$$;

commit;
