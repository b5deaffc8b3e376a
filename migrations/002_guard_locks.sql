-- Risk guard locks (kill switch, losing-streak stop), journaled so a restarted bot restores them.
--
-- One row per lock a closed trade set: lock_id = 'scope:guard:locked_at_s', where scope is the
-- bot's strategies comma-separated ('dca', 'dca,swing,channel'); trade_id is the executor whose
-- close set it (trades.trade_id, a soft reference). Seconds UTC as in 001_journal.sql.
--
-- Apply after 001_journal.sql:
--   psql "$DATABASE_URL" -v ON_ERROR_STOP=1 -f migrations/002_guard_locks.sql
-- It is safe to run again (IF NOT EXISTS everywhere).

begin;

create table if not exists public.guard_locks (
    lock_id text primary key,
    scope text not null,
    guard text not null check (guard <> ''),
    reason text not null,
    locked_at_s bigint not null,
    until_s bigint,
    trade_id text,
    recorded_s double precision not null,
    locked_at timestamptz generated always as (to_timestamp(locked_at_s::double precision)) stored,
    constraint guard_locks_until_after check (until_s is null or until_s > locked_at_s),
    constraint guard_locks_natural_id
        check (lock_id = scope || ':' || guard || ':' || locked_at_s::text)
);
create index if not exists guard_locks_locked on public.guard_locks (locked_at_s);
comment on table public.guard_locks is
    'Risk guard locks set by closed trades; restored into the risk ledger when a bot restarts.';

alter table public.guard_locks enable row level security;

do $$
begin
    if exists (select 1 from pg_roles where rolname = 'service_role') then
        grant select, insert, update, delete on public.guard_locks to service_role;
    end if;
end
$$;

commit;
