-- Trade journal tables for Supabase / PostgreSQL (15+).
--
-- After the original plan, "Database Schema" (strategy_setups, ml_predictions,
-- hummingbot_trades -> trades, daily_performance), with these changes:
--   * natural text primary keys, so the journal's upserts are idempotent:
--       strategy_setups.setup_id   = 'strategy:pair:candle_ts_s'
--       ml_predictions.prediction_id = '<setup_id>:<model_version>'
--       trades.trade_id            = Hummingbot executor id
--       daily_performance          = (date, strategy)   (the plan's "date PRIMARY KEY" allowed
--                                     one strategy per day)
--   * unbounded numeric instead of DECIMAL(3,2) / DECIMAL(10,2) (which cut confidence to two
--     digits and P&L to cents), units in names (_quote, _frac, _s); timestamps are seconds UTC
--     with generated timestamptz columns (*_at) for reading in the Supabase table editor.
--   * row-level security on and no policies: only the service-role key (which bypasses RLS)
--     reads and writes; the anon key sees nothing.
--
-- Apply once per project: Supabase dashboard -> SQL editor -> paste and run, or
--   psql "$DATABASE_URL" -v ON_ERROR_STOP=1 -f migrations/001_journal.sql
-- It is safe to run again (IF NOT EXISTS everywhere).

begin;

create table if not exists public.strategy_setups (
    setup_id text primary key,
    strategy text not null check (strategy <> ''),
    pair text not null check (pair <> ''),
    candle_ts_s bigint not null,
    reference_price_quote numeric not null check (reference_price_quote > 0),
    entry_type text not null check (entry_type in ('market', 'limit_grid')),
    taken boolean not null,
    skip_reason text,
    context jsonb not null default '{}'::jsonb,
    recorded_s double precision not null,
    detected_at timestamptz generated always as (to_timestamp(candle_ts_s::double precision)) stored,
    constraint strategy_setups_skip_reason check (taken or skip_reason is not null),
    constraint strategy_setups_natural_id
        check (setup_id = strategy || ':' || pair || ':' || candle_ts_s::text)
);
comment on table public.strategy_setups is
    'Every detected setup, taken or skipped with the reason (natural id strategy:pair:candle_ts_s).';

create table if not exists public.ml_predictions (
    prediction_id text primary key,
    setup_id text not null references public.strategy_setups (setup_id) on delete cascade,
    model_version text not null,
    confidence numeric check (confidence between 0 and 1),
    take boolean not null,
    take_profit_frac numeric not null check (take_profit_frac > 0),
    stop_loss_frac numeric not null check (stop_loss_frac > 0 and stop_loss_frac < 1),
    size_multiplier numeric not null check (size_multiplier > 0),
    expected_hold_s bigint not null check (expected_hold_s >= 0),
    scored_s double precision not null,
    constraint ml_predictions_setup_model unique (setup_id, model_version)
);
create index if not exists ml_predictions_setup on public.ml_predictions (setup_id);
comment on table public.ml_predictions is
    'Model verdict per setup and model version; confidence null = rules-only.';

create table if not exists public.trades (
    trade_id text primary key,
    setup_id text,  -- soft reference: manual or migrated trades may have no journaled setup
    strategy text not null,
    pair text not null,
    side text not null check (side in ('buy', 'sell')),
    entry_price_quote numeric not null check (entry_price_quote > 0),
    exit_price_quote numeric check (exit_price_quote > 0),
    amount_base numeric not null check (amount_base >= 0),
    amount_quote numeric not null check (amount_quote >= 0),
    fees_quote numeric not null default 0 check (fees_quote >= 0),
    pnl_quote numeric,
    pnl_frac numeric,
    close_type text,
    opened_s double precision not null,
    closed_s double precision,
    opened_at timestamptz generated always as (to_timestamp(opened_s)) stored,
    closed_at timestamptz generated always as (to_timestamp(closed_s)) stored,
    constraint trades_closed_after_opened check (closed_s is null or closed_s >= opened_s),
    constraint trades_exit_complete check ((closed_s is null) = (exit_price_quote is null))
);
create index if not exists trades_opened on public.trades (opened_s);
create index if not exists trades_closed on public.trades (closed_s);
create index if not exists trades_setup on public.trades (setup_id);
comment on table public.trades is
    'One row per Hummingbot executor (trade_id); written at open and replaced at close.';

create table if not exists public.daily_performance (
    date date not null,
    strategy text not null,
    setups_detected integer not null check (setups_detected >= 0),
    setups_taken integer not null check (setups_taken >= 0),
    trades_count integer not null check (trades_count >= 0),
    wins integer not null check (wins >= 0),
    losses integer not null check (losses >= 0),
    net_pnl_quote numeric not null,
    ml_precision numeric check (ml_precision between 0 and 1),
    updated_s double precision not null,
    primary key (date, strategy),
    constraint daily_performance_outcomes check (wins + losses <= trades_count)
);
comment on table public.daily_performance is
    'Per local (America/Los_Angeles) day and strategy; strategy ''all'' for the portfolio.';

alter table public.strategy_setups enable row level security;
alter table public.ml_predictions enable row level security;
alter table public.trades enable row level security;
alter table public.daily_performance enable row level security;

-- Supabase grants these by default; a plain PostgreSQL + PostgREST needs them explicitly.
do $$
begin
    if exists (select 1 from pg_roles where rolname = 'service_role') then
        grant usage on schema public to service_role;
        grant select, insert, update, delete on
            public.strategy_setups, public.ml_predictions, public.trades,
            public.daily_performance
        to service_role;
    end if;
end
$$;

commit;
