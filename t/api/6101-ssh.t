# The SSH admin helpers and the pipeline console (transports.md §1.6, spool.md §8, api.md
# R138, R139, L6): PUT /admin/transport/ssh/{test,init} queue a transport task with a fresh
# console; /shm/admin/console.cgi reads a console from a byte offset with x-console-eof;
# /shm/v1/admin/console/stream pushes it as Server-Sent Events (and parked streams hold no
# pool thread). Then tasks run through the spool (`billd spool --once`) against a real sshd
# (t/lib/Sshd.pm): uname through the test route, exit code → FAIL → retry with the same
# D9 token, timeout, the live stream of a running script, a jump host, sshd down and back,
# and a changed host key → STUCK (D19). t/unit/test_ssh.c covers the transport in detail.
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use HTTP::Tiny;
use IO::Select;
use IO::Socket::INET;
use POSIX ();
use Time::HiRes qw(sleep);
use BilldTest qw(engines canon jenc);
use Sshd;

my $sshd = Sshd->start;
if (!$sshd) {
    plan skip_all => "cannot start sshd: $Sshd::WHY";
}

sub err_body { my ($status, $msg) = @_; return qq({"error":"$msg","status":$status}) }

# SQL that appends text to console $id (the test plays the transport's part).
sub append_sql {
    my ($s, $id, $text) = @_;
    (my $q = $text) =~ s/'/''/g;
    $q =~ s/\n/\\n/g;    # newlines travel as \n, turned back into chr(10) by the SQL
    return $s->engine eq 'pg'
      ? "UPDATE console SET log = log || convert_to(replace('$q', '\\n', chr(10)), 'UTF8') WHERE id = $id"
      : "UPDATE console SET log = CAST(log || replace('$q', '\\n', char(10)) AS BLOB) WHERE id = $id";
}

# Opens a stream request on a raw socket (the response is read later with read_stream).
sub open_stream {
    my ($s, $sid, $query, %h) = @_;
    my $sock = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $s->port, Timeout => 5)
      or die "connect: $!";
    my $extra = join '', map { "$_: $h{$_}\r\n" } sort keys %h;
    print $sock "GET /shm/v1/admin/console/stream?$query HTTP/1.1\r\nHost: t\r\nsession-id: $sid\r\n"
      . "${extra}Connection: close\r\n\r\n";
    return $sock;
}

# Reads a stream to its end (or $timeout s) and returns {head, body} with the chunks joined.
sub read_stream {
    my ($sock, $timeout) = @_;
    my $raw = '';
    my $sel = IO::Select->new($sock);
    my $until = time + ($timeout // 20);
    while (time < $until && $sel->can_read(1)) {
        my $n = sysread($sock, my $buf, 65536);
        last unless $n;
        $raw .= $buf;
    }
    close $sock;
    my ($head, $rest) = split /\r\n\r\n/, $raw, 2;
    my $body = '';
    while (defined $rest && $rest =~ s/^([0-9a-fA-F]+)\r\n//) {
        my $len = hex $1;
        last if $len == 0;
        $body .= substr($rest, 0, $len, '');
        $rest =~ s/^\r\n//;
    }
    return { head => $head // '', body => $body };
}

for my $engine (engines()) {
    subtest $engine => sub {
        my $s = BilldTest->start(engine => $engine);
        my %A = (session => $s->admin_session);

        my $r = $s->req(PUT => '/shm/v1/admin/server/identity', %A,
            json => { name => 'test key', private_key => $sshd->client_key });
        is $r->{status}, 200, 'the test key is stored as an identity';
        my $kid = $r->{json}{data}[0]{id};
        $r = $s->req(PUT => '/shm/v1/admin/server', %A,
            json => { name => 'sshd', transport => 'ssh', host => $sshd->user . '@127.0.0.1',
                      settings => { key_id => $kid, port => $sshd->port } });
        is $r->{status}, 200, 'a server for the test sshd';

        subtest 'PUT /admin/transport/ssh/test' => sub {
            my $r = $s->req(PUT => '/shm/v1/admin/transport/ssh/test', %A,
                json => { host => 'root@127.0.0.1', key_id => $kid, port => $sshd->port });
            is $r->{status}, 200, 'the ssh test answers 200';
            my $d = $r->{json}{data}[0];
            like $d->{pipeline_id} // '', qr/^[1-9]\d*$/, 'a fresh pipeline_id';
            is jenc($r, 'data'),
              qq([{"host":"root\@127.0.0.1","key_id":$kid,"pipeline_id":$d->{pipeline_id},"port":) . $sshd->port . '}]',
              'the arguments and the pipeline_id';
            my ($ev, $st, $status) = split /\|/,
              ($s->sql("SELECT event, settings, status FROM spool ORDER BY id DESC LIMIT 1"))[0];
            like $ev, qr/"kind":\s*"Transport::Ssh"/, 'event kind Transport::Ssh';
            like $ev, qr/"name":\s*"EXEC"/, 'event name EXEC';
            like $st, qr/"cmd":\s*"uname -a"/, 'the task runs uname -a';
            like $st, qr/"transport":\s*"ssh"/, 'through the ssh transport';
            like $st, qr/"pipeline_id":\s*$d->{pipeline_id}\b/, 'into the new console';
            is $status, 'NEW', 'queued';
            $r = $s->req(GET => '/shm/admin/console.cgi', %A, query => { id => $d->{pipeline_id} });
            is $r->{status}, 200, 'the console exists at once';
            is $r->{body}, '', 'empty';
            is $r->{headers}{'x-console-eof'}, '0', 'not finished';

            $r = $s->req(PUT => '/shm/v1/admin/transport/ssh/test', %A, json => { host => 'x@h', key_id => 9999 });
            is canon($r), err_body(400, 'Field key_id: identity 9999 does not exist'), 'unknown identity';
            $r = $s->req(PUT => '/shm/v1/admin/transport/ssh/test', %A, json => { host => 'root@a b', key_id => $kid });
            is canon($r), err_body(400, "Field host: Invalid host: 'a b' is not a domain name or an IP address"),
              'bad host';
            $r = $s->req(PUT => '/shm/v1/admin/transport/ssh/test', %A, json => { host => '-oProxyCommand=x@h', key_id => $kid });
            is canon($r), err_body(400, "Field host: Invalid host: bad user name in '-oProxyCommand=x\@h'"),
              'an option as user name';
            $r = $s->req(PUT => '/shm/v1/admin/transport/ssh/test', %A, json => { host => 'h' });
            is canon($r), err_body(400, 'Field required: key_id'), 'key_id required';
            my ($n) = $s->sql('SELECT count(*) FROM spool WHERE CAST(event AS TEXT) LIKE \'%Transport::Ssh%\'');
            is $n, 1, 'refused requests queue nothing';
            my $u = $s->register('plainuser', 'plain-password-1');
            my $us = $s->login('plainuser', 'plain-password-1');
            $r = $s->req(PUT => '/shm/v1/admin/transport/ssh/test', session => $us, json => { host => 'h', key_id => $kid });
            is $r->{status}, 403, 'admins only';
        };

        subtest 'PUT /admin/transport/ssh/init' => sub {
            my $r = $s->req(PUT => '/shm/v1/admin/transport/ssh/init', %A,
                json => { host => 'root@127.0.0.1', key_id => $kid, template_id => 'init_script' });
            is $r->{status}, 200, 'the ssh init answers 200';
            my $d = $r->{json}{data}[0];
            is jenc($r, 'data'),
              qq([{"host":"root\@127.0.0.1","key_id":$kid,"pipeline_id":$d->{pipeline_id},"template_id":"init_script"}]),
              'the arguments and the pipeline_id';
            my ($ev, $st) = split /\|/, ($s->sql("SELECT event, settings FROM spool ORDER BY id DESC LIMIT 1"))[0];
            like $ev, qr/"name":\s*"INIT"/, 'event INIT';
            like $st, qr/"timeout":\s*600\b/, 'timeout 600';
            like $st, qr/"template_id":\s*"init_script"/, 'the template';
            $r = $s->req(PUT => '/shm/v1/admin/transport/ssh/init', %A, json => { host => 'h', key_id => $kid });
            is canon($r), err_body(400, 'Field required: template_id'), 'template_id required';
        };

        subtest 'console.cgi' => sub {
            my ($id) = $s->sql("INSERT INTO console (start) VALUES (1) RETURNING id");
            $s->sql(append_sql($s, $id, "<font color=yellow>Trying</font>\nline \xc3\xa9\n"));
            my $r = $s->req(GET => '/shm/admin/console.cgi', %A, query => { id => $id });
            is $r->{status}, 200, 'console.cgi answers 200';
            like $r->{headers}{'content-type'}, qr{^text/plain}, 'text/plain';
            is $r->{body}, "<font color=yellow>Trying</font>\nline \xc3\xa9\n", 'the whole log (bytes)';
            is $r->{headers}{'x-console-eof'}, '0', 'x-console-eof 0';
            $r = $s->req(GET => '/shm/admin/console.cgi', %A, query => { id => $id, offset => 34 });
            is $r->{body}, "line \xc3\xa9\n", 'from the 1-based byte offset 34';
            $r = $s->req(GET => '/shm/admin/console.cgi', %A, query => { id => $id, offset => 1000 });
            is $r->{body}, '', 'past the end: empty';
            $s->sql("UPDATE console SET eof = 1 WHERE id = $id");
            $r = $s->req(GET => '/shm/admin/console.cgi', %A, query => { id => $id, offset => 34 });
            is $r->{headers}{'x-console-eof'}, '1', 'x-console-eof 1';
            $r = $s->req(GET => '/shm/admin/console.cgi', %A, query => { id => 987654 });
            is canon($r), err_body(404, 'Console 987654 not found'), 'unknown console: 404';
            $r = $s->req(GET => '/shm/admin/console.cgi', %A);
            is canon($r), err_body(400, 'Field required: id'), 'id required';
            $r = $s->req(GET => '/shm/admin/console.cgi', %A, query => { id => 'x' });
            is canon($r), err_body(400, 'Field id: expected a positive integer'), 'id must be a number';
            $r = $s->req(GET => '/shm/admin/console.cgi', query => { id => $id });
            isnt $r->{status}, 200, 'not without a session';
        };

        subtest 'console stream (SSE)' => sub {
            my ($id) = $s->sql("INSERT INTO console (start) VALUES (1) RETURNING id");
            $s->sql(append_sql($s, $id, "first\n"));
            my $sock = open_stream($s, $A{session}, "id=$id");
            # a writer appends while the stream is open, then finishes the console
            my $pid = fork;
            die "fork: $!" unless defined $pid;
            if (!$pid) {
                sleep 0.5;
                $s->sql(append_sql($s, $id, "second <b>\nthird"));
                sleep 0.5;
                $s->sql(append_sql($s, $id, "\n"));
                $s->sql("UPDATE console SET eof = 1, stop = 2 WHERE id = $id");
                POSIX::_exit(0);
            }
            # meanwhile, with both pool threads' streams parked, ordinary requests still answer
            my @more = map { open_stream($s, $A{session}, "id=$id") } 1 .. 3;
            my $h = $s->req(GET => '/shm/v1/healthcheck');
            is $h->{status}, 200, 'other requests are served while streams wait';
            my $got = read_stream($sock);
            waitpid $pid, 0;
            like $got->{head}, qr{^HTTP/1\.1 200}, 'the stream answers 200';
            like $got->{head}, qr{content-type: text/event-stream}i, 'text/event-stream';
            like $got->{head}, qr{cache-control: no-cache}i, 'not cached';
            my @events = grep { !/^:/ } split /\n\n/, $got->{body};
            my $text = join '', map { my %f; my @d = /^data: ?(.*)$/mg; join("\n", @d) } grep { !/^event:/ } @events;
            is $text, "first\nsecond <b>\nthird\n", 'the events carry the log as it grew';
            cmp_ok scalar(grep { !/^event:/ } @events), '>=', 2, 'in several events';
            like $events[-1], qr/^event: eof\ndata: 24$/, 'an eof event ends the stream';
            like $events[0], qr/^data: first\ndata: \nid: 7$/, 'first event: the text so far, id = next offset';
            for my $k (@more) {
                my $g = read_stream($k);
                like $g->{body}, qr/event: eof/, 'the other streams end too';
            }

            # resume from an offset (Last-Event-ID wins over offset)
            my $g = read_stream(open_stream($s, $A{session}, "id=$id&offset=1", 'Last-Event-ID' => 7));
            like $g->{body}, qr/^data: second <b>\ndata: third\ndata: \nid: 24\n\nevent: eof/, 'resumed after the first event';
            $g = read_stream(open_stream($s, $A{session}, "id=$id&offset=18"));
            like $g->{body}, qr/^data: third\ndata: \nid: 24\n\n/, 'from a byte offset';

            my $r = $s->req(GET => '/shm/v1/admin/console/stream', %A, query => { id => 987654 });
            is canon($r), err_body(404, 'Console 987654 not found'), 'unknown console: 404 before streaming';
            $r = $s->req(GET => '/shm/v1/admin/console/stream', %A, headers => { 'Last-Event-ID' => 'x' }, query => { id => $id });
            is canon($r), err_body(400, 'Header Last-Event-ID: expected a positive integer'), 'bad Last-Event-ID';
        };

        subtest 'tasks through the spool' => sub { spool_runs($s, \%A, $kid) };

        $s->stop;
    };
}

# Runs `billd spool --once` on the server's database (as the daemon's workers would).
sub spool_once {
    my ($s) = @_;
    local %ENV = (%ENV, DATABASE_URL => $s->db_url, TZ => 'UTC', BILLD_SECRET_KEY => '5eed' x 16,
                  LOG_LEVEL => 'warn', SPOOL_WORKERS => 1);
    my $out = qx{cd $s->{dir} && $ENV{BILLD_BIN} spool --once 2>&1};
    is $?, 0, 'billd spool --once' or diag $out;
}

# [status, attempt, token, response] of the executions of task $id, in order (SQLite may reuse
# the id of a finished task: only history rows written after the task was queued count).
my %SINCE;
sub runs {
    my ($s, $id) = @_;
    my $after = $SINCE{$id} // 0;
    return [ map { [ split /\|/, $_, 4 ] }
             $s->sql("SELECT status, attempt, token, response FROM spool_history WHERE spool_id = $id"
                     . " AND id > $after ORDER BY id") ];
}

sub console_of {
    my ($s, $A, $id) = @_;
    my $r = $s->req(GET => '/shm/admin/console.cgi', %$A, query => { id => $id });
    return ($r->{body}, $r->{headers}{'x-console-eof'});
}

sub spool_runs {
    my ($s, $A, $kid) = @_;
    my $user = $sshd->user;
    my $dir  = $sshd->dir;
    my ($sid) = $s->sql("SELECT server_id FROM servers WHERE name = 'sshd'");
    my $task = sub {    # queues a task for the server through the admin spool API
        my (%set) = @_;
        my ($last) = $s->sql('SELECT coalesce(max(id), 0) FROM spool_history');
        my $r = $s->req(PUT => '/shm/v1/admin/spool', %$A,
            json => { event => { kind => 'UserService', name => 'CREATE', title => 't',
                                 settings => { server_id => $sid, %set } } });
        is $r->{status}, 200, 'task queued' or diag $r->{body};
        my $id = $r->{json}{data}[0]{id};
        $SINCE{$id} = $last;
        return $id;
    };
    my $pipeline = sub { my ($resp) = @_; $resp =~ /"pipeline_id":\s*(\d+)/ ? $1 : undef };

    subtest 'the ssh test route runs uname -a' => sub {
        my $r = $s->req(PUT => '/shm/v1/admin/transport/ssh/test', %$A,
            json => { host => "$user\@127.0.0.1", key_id => $kid, port => $sshd->port });
        my $pid = $r->{json}{data}[0]{pipeline_id};
        spool_once($s);
        my ($log, $eof) = console_of($s, $A, $pid);
        like $log, qr{^<font color=yellow>Trying connect to: \Q$user\E\@127\.0\.0\.1 \(timeout: 10s\) port \d+</font>\n<font color=green>SUCCESS</font>\n\nLinux },
          'the console shows the connection and the uname output';
        like $log, qr{\n\n<font color=green>DONE</font>\n$}, 'DONE';
        is $eof, '1', 'finished';
        my ($n) = $s->sql("SELECT count(*) FROM spool WHERE CAST(settings AS TEXT) LIKE '%uname%'");
        is $n, 0, 'the task succeeded and left the queue';
    };

    subtest 'exit code, retry, the same token on every attempt (D9)' => sub {
        unlink "$dir/env.txt";
        my $id = $task->(cmd => "echo \"\$BILLD_TASK_TOKEN \$BILLD_TASK_ATTEMPT \$BILLD_EVENT\" >> $dir/env.txt;"
            . ' test "$BILLD_TASK_ATTEMPT" -ge 2');
        spool_once($s);
        my $h = runs($s, $id);
        is $h->[0][0], 'FAIL', 'exit code 1: FAIL';
        like $h->[0][3], qr/"ret_code":\s*1\b/, 'ret_code 1';
        like $h->[0][3], qr/"error":\s*"Exit code 1"/, 'the reason';
        my ($status) = $s->sql("SELECT status FROM spool WHERE id = $id");
        is $status, 'FAIL', 'kept for a retry';
        my ($log) = console_of($s, $A, $pipeline->($h->[0][3]));
        like $log, qr{<font color=red>ERROR 1</font>\n$}, 'red ERROR 1 in the console';
        my $r = $s->req(POST => '/shm/v1/admin/spool/manual/retry', %$A, json => { id => $id });
        is $r->{status}, 200, 'retry now';
        spool_once($s);
        $h = runs($s, $id);
        is_deeply [ map { "$_->[0] $_->[1]" } @$h ], [ 'FAIL 1', 'SUCCESS 2' ], 'attempts 1 and 2';
        open my $fh, '<', "$dir/env.txt" or die "env.txt: $!";
        my @lines = <$fh>;
        is_deeply \@lines, [ "$h->[0][2] 1 CREATE\n", "$h->[0][2] 2 CREATE\n" ],
          'the remote script saw the same token and the attempt number';
        isnt $pipeline->($h->[0][3]), $pipeline->($h->[1][3]), 'one console per execution';
        my ($pinned) = $s->sql("SELECT settings FROM servers WHERE server_id = $sid");
        like $pinned, qr/"host_key":\s*"\Q@{[ $sshd->host_fingerprint ]}\E"/, 'the host key is pinned on first use (D19)';
    };

    subtest 'timeout' => sub {
        my $id = $task->(cmd => 'echo begun; sleep 30', timeout => 2);
        spool_once($s);
        my $h = runs($s, $id);
        is $h->[0][0], 'FAIL', 'FAIL';
        like $h->[0][3], qr/Timeout/, 'the reason';
        my ($log, $eof) = console_of($s, $A, $pipeline->($h->[0][3]));
        like $log, qr{begun\n\n<font color=red>TIMEOUT</font>\n$}, 'red TIMEOUT in the console';
        is $eof, '1', 'finished';
        $s->req(DELETE => '/shm/v1/admin/spool', %$A, query => { id => $id });
    };

    subtest 'the live console stream of a running task' => sub {
        my $r = $s->req(PUT => '/shm/v1/admin/template', %$A,
            json => { id => 'ssh_ticks', data => "for i in 1 2 3; do echo tick\$i; sleep 0.3; done\necho '{{ event_name }}'\n" });
        is $r->{status}, 200, 'a script template';
        $r = $s->req(PUT => '/shm/v1/admin/transport/ssh/init', %$A,
            json => { host => "$user\@127.0.0.1", key_id => $kid, port => $sshd->port, template_id => 'ssh_ticks' });
        my $pid = $r->{json}{data}[0]{pipeline_id};
        my $sock = open_stream($s, $A->{session}, "id=$pid");
        spool_once($s);
        my $got = read_stream($sock);
        my @data = grep { !/^(?:event|:)/ } split /\n\n/, $got->{body};
        my $text = join '', map { join "\n", /^data: ?(.*)$/mg } @data;
        like $text, qr{^<font color=yellow>Trying connect to: .*\(timeout: 600s\)}, 'the connection line';
        like $text, qr{tick1\ntick2\ntick3\nINIT\n\n<font color=green>DONE</font>\n$}, 'the output, then DONE';
        like $got->{body}, qr/event: eof\n/, 'the stream ends at eof';
    };

    subtest 'jump host' => sub {
        my $id = $task->(cmd => 'echo via-jump', proxy_host => "$user\@127.0.0.1:" . $sshd->port);
        spool_once($s);
        my $h = runs($s, $id);
        is $h->[0][0], 'SUCCESS', 'SUCCESS through the jump host' or diag $h->[0][3];
        my ($log) = console_of($s, $A, $pipeline->($h->[0][3]));
        like $log, qr{through \Q$user\E\@127\.0\.0\.1 port \d+</font>}, 'the console names the jump host';
        like $log, qr{\nvia-jump\n}, 'the output';
    };

    subtest 'sshd down, then up again' => sub {
        $sshd->stop;
        my $id = $task->(cmd => 'echo back');
        spool_once($s);
        my $h = runs($s, $id);
        is $h->[0][0], 'FAIL', 'connection refused: FAIL';
        like $h->[0][3], qr/"ret_code":\s*-1\b/, 'ret_code -1';
        my ($log) = console_of($s, $A, $pipeline->($h->[0][3]));
        like $log, qr{<font color=red>FAIL Connection to 127\.0\.0\.1 port \d+ failed}, 'red FAIL in the console';
        ok $sshd->start_again, 'sshd is back' or diag $Sshd::WHY;
        $s->req(POST => '/shm/v1/admin/spool/manual/retry', %$A, json => { id => $id });
        spool_once($s);
        $h = runs($s, $id);
        is_deeply [ map { "$_->[0] $_->[1]" } @$h ], [ 'FAIL 1', 'SUCCESS 2' ], 'the retry succeeds';
    };

    subtest 'a changed host key parks the task (D19)' => sub {
        my $old = $sshd->host_fingerprint;
        ok $sshd->start_again(new_host_key => 1), 'sshd restarted with a new host key' or diag $Sshd::WHY;
        my $new = $sshd->host_fingerprint;
        isnt $new, $old, 'a different key';
        unlink "$dir/never";    # the previous engine's run made it once the pin was removed
        my $id = $task->(cmd => "touch $dir/never");
        spool_once($s);
        my $h = runs($s, $id);
        is $h->[0][0], 'STUCK', 'STUCK';
        like $h->[0][3], qr/changed: pinned \Q$old\E, offered \Q$new\E/, 'the reason names both keys';
        ok !-e "$dir/never", 'nothing ran';
        my ($status) = $s->sql("SELECT status FROM spool WHERE id = $id");
        is $status, 'STUCK', 'parked';
        # the operator accepts the new key by removing the pin
        my $r = $s->req(POST => '/shm/v1/admin/server', %$A,
            json => { server_id => $sid, settings => { key_id => $kid, port => $sshd->port } });
        is $r->{status}, 200, 'pin removed';
        $s->req(POST => '/shm/v1/admin/spool/manual/retry', %$A, json => { id => $id });
        spool_once($s);
        $h = runs($s, $id);
        is $h->[-1][0], 'SUCCESS', 'runs after the pin is removed';
        my ($pinned) = $s->sql("SELECT settings FROM servers WHERE server_id = $sid");
        like $pinned, qr/\Q$new\E/, 'the new key is pinned';
        $sshd->start_again(new_host_key => 0);
    };
}

done_testing;
