# Several spool nodes on one PostgreSQL database (DECISIONS D3, D9; docs/spool.md): 10 000
# local-transport tasks, two `billd spool --once` processes with their own BILLD_NODE_ID
# running at the same time until nothing is left. Every task must have exactly one history
# row, and it must be SUCCESS: nothing ran twice, nothing was lost. SQLite supports one spool
# process only, so this file runs on PostgreSQL alone.
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use BilldTest qw(engines);
use POSIX qw(WNOHANG);
use Time::HiRes qw(sleep time);

my @pg = grep { $_ eq 'pg' } engines();
plan skip_all => 'PostgreSQL only (set BILLD_TEST_PG_URL); SQLite runs one spool process'
    unless @pg;

use constant TASKS => 10_000;

my $S = BilldTest->start(engine => 'pg');
$S->sql("INSERT INTO templates (id, data) VALUES ('bulk', 'ok {{ task.id }} {{ task.attempt }}')");
$S->sql("UPDATE spool SET status = 'PAUSED'");    # the periodic jobs stay out of the count
$S->sql("INSERT INTO spool (user_id, event, prio, status, created, settings) SELECT 1,"
    . " '{\"name\":\"BULK\",\"settings\":{\"transport\":\"local\",\"template_id\":\"bulk\"}}',"
    . " 100, 'NEW', 0, '{}' FROM generate_series(1, " . TASKS . ")");
is(($S->sql("SELECT count(*) FROM spool WHERE status = 'NEW'"))[0], TASKS, TASKS . ' tasks queued');

my %pid;
for my $node (qw(node-a node-b)) {
    my $pid = fork // die "fork: $!";
    if (!$pid) {
        $ENV{DATABASE_URL}     = $S->db_url;
        $ENV{BILLD_NODE_ID}    = $node;
        $ENV{SPOOL_WORKERS}    = 2;
        $ENV{BILLD_SECRET_KEY} = '00' x 32;
        $ENV{LOG_LEVEL}        = 'warn';
        delete $ENV{BILLD_TEST_CLOCK};
        open STDOUT, '>', "/dev/null";
        exec $ENV{BILLD_BIN}, 'spool', '--once' or POSIX::_exit(127);
    }
    $pid{$pid} = $node;
}
my $deadline = time + 120;
my %status;
while (%pid && time < $deadline) {
    for my $p (keys %pid) {
        next unless waitpid($p, WNOHANG) == $p;
        $status{ delete $pid{$p} } = $?;
    }
    sleep 0.1;
}
kill 'KILL', keys %pid;
waitpid($_, 0) for keys %pid;
is $status{$_}, 0, "billd spool --once ($_) exited with 0" for qw(node-a node-b);

is(($S->sql("SELECT count(*) FROM spool WHERE event->>'name' = 'BULK'"))[0], 0, 'the spool is empty');
my ($rows, $tasks, $ok) = split /\|/, ($S->sql("SELECT count(*), count(DISTINCT spool_id),"
    . " count(*) FILTER (WHERE status = 'SUCCESS') FROM spool_history WHERE event->>'name' = 'BULK'"))[0];
is $tasks, TASKS, 'every task has a history row';
is $rows, TASKS, 'exactly one execution per task (nothing ran twice)';
is $ok, TASKS, 'all of them SUCCESS';
is(($S->sql("SELECT count(*) FROM spool_history WHERE event->>'name' = 'BULK' AND attempt <> 1"))[0], 0,
    'every task on its first attempt');
my %by = map { split /\|/ } $S->sql("SELECT node, count(*) FROM spool_history"
    . " WHERE event->>'name' = 'BULK' GROUP BY node");
is_deeply [ sort keys %by ], [ grep { $by{$_} } qw(node-a node-b) ], 'only the two nodes ran tasks';
diag "tasks per node: " . join(', ', map { "$_ $by{$_}" } sort keys %by);
$S->stop;
done_testing;
