package BilldTest;

# Black-box test harness for billd: starts a real `billd serve` on a fresh database (SQLite
# file or a new PostgreSQL database in the cluster named by BILLD_TEST_PG_URL), talks HTTP
# to it and checks on shutdown that it exited cleanly (status 0, no sanitizer report).
#
#   use lib 't/lib';
#   use BilldTest;
#   for my $engine (engines()) {
#       subtest $engine => sub {
#           my $s = BilldTest->start(engine => $engine);
#           my $r = $s->req(GET => '/shm/v1/healthcheck');
#           is $r->{status}, 200;
#           $s->stop;                   # emits ok(..., "server exited cleanly")
#       };
#   }
#   done_testing;
#
# BilldTest->start(engine => $e, prepare => sub { ... }) runs the sub on the fresh database
# before the server starts (t/api/7001-import.t imports an SHM dump that way).
#
# Environment: BILLD_BIN (the billd binary, required), BILLD_TEST_PG_URL (optional; enables
# the 'pg' engine), BILLD_TEST_ENGINES (optional comma list to restrict the engines),
# BILLD_TEST_KEEP=1 (keep temp dirs, logs and PostgreSQL databases for inspection).
#
# Perl core modules only.

use strict;
use warnings;

use Carp qw(croak);
use Exporter 'import';
use File::Path qw(remove_tree);
use File::Temp qw(tempdir);
use HTTP::Tiny;
use Socket qw(IPPROTO_TCP TCP_NODELAY);

# HTTP::Tiny writes the request head and body in separate writes; with Nagle's algorithm on
# the client and delayed ACKs on the server each request with a body waits ~40 ms. Tests
# turn Nagle off on every connection they open.
{
    no warnings 'redefine';
    my $connect = \&HTTP::Tiny::Handle::connect;
    *HTTP::Tiny::Handle::connect = sub {
        my $self = $connect->(@_);
        setsockopt($self->{fh}, IPPROTO_TCP, TCP_NODELAY, 1) if $self && $self->{fh};
        return $self;
    };
}
use IO::Select;
use IO::Socket::INET;
use JSON::PP;
use MIME::Base64 qw(encode_base64);
use POSIX qw(WNOHANG);
use Scalar::Util qw(weaken refaddr);
use Test::More ();
use Time::HiRes qw(sleep time);

our @EXPORT    = qw(engines);
our @EXPORT_OK = qw(canon jenc raw_status parse_raw ADMIN_LOGIN ADMIN_PASSWORD);

use constant ADMIN_LOGIN    => 'admin';
use constant ADMIN_PASSWORD => 'admin-secret-pw';

my $JSON_DEC = JSON::PP->new->utf8->allow_nonref;
my $JSON_ENC = JSON::PP->new->utf8->canonical;
my $JSON_CANON = JSON::PP->new->canonical->allow_nonref;    # character output

# Lines in the server log that mean a sanitizer fired.
my $SANITIZER_RE = qr/ERROR: AddressSanitizer|ERROR: LeakSanitizer|LeakSanitizer|runtime error:
                     |SUMMARY: (?:Address|UndefinedBehavior|Leak|Thread)Sanitizer
                     |ERROR: ThreadSanitizer|WARNING: ThreadSanitizer/x;

# A test killed by SIGINT/SIGTERM would skip END and leave its servers running: turn those
# signals into an exception (unless the test installed its own handlers).
for my $sig (qw(INT TERM HUP)) {
    $SIG{$sig} = sub { die "billd-test: interrupted by SIG$_[0]\n" }
      if !defined $SIG{$sig} || $SIG{$sig} eq '' || $SIG{$sig} eq 'DEFAULT';
}

my %LIVE;           # refaddr => weakened server object, for the END safety net
my $DB_SEQ = 0;
my $PG_DIAG_DONE;

# ---------------------------------------------------------------------------------------
# engines

sub engines {
    my @e = ('sqlite');
    if ($ENV{BILLD_TEST_PG_URL}) {
        push @e, 'pg';
    }
    elsif (!$PG_DIAG_DONE++) {
        Test::More::diag('BILLD_TEST_PG_URL is not set: PostgreSQL is skipped '
              . '(scripts/test.sh starts a throwaway cluster)');
    }
    if (my $only = $ENV{BILLD_TEST_ENGINES}) {
        my %want = map { $_ => 1 } split /\s*,\s*/, $only;
        @e = grep { $want{$_} } @e;
    }
    return @e;
}

# ---------------------------------------------------------------------------------------
# start / stop

sub start {
    my ($class, %o) = @_;
    my $engine = $o{engine} // 'sqlite';
    croak "unknown engine '$engine'" unless $engine eq 'sqlite' || $engine eq 'pg';
    my $bin = $ENV{BILLD_BIN}
      or croak 'BILLD_BIN is not set (the path of the billd binary; scripts/test.sh sets it)';
    -f $bin && -x _ or croak "BILLD_BIN=$bin is not an executable file (build it first)";

    # Removed by stop() when everything passed; kept (with the log and the SQLite file) when not.
    my $dir = tempdir('billd-test-XXXXXX', TMPDIR => 1, CLEANUP => 0);
    my $self = bless {
        engine => $engine,
        bin    => $bin,
        dir    => $dir,
        log    => "$dir/billd.log",
        env    => $o{env} || {},
        owner  => $$,
    }, $class;

    if ($engine eq 'sqlite') {
        $self->{db_url} = "sqlite://$dir/billd.db";
    }
    else {
        $self->_create_pg_db;
    }
    # prepare => sub { my ($s) = @_; ... } runs once the (empty) database exists and before the
    # server starts on it, e.g. to import data with the billd binary ($s->db_url).
    if (my $prepare = $o{prepare}) {
        if (!eval { $prepare->($self); 1 }) {
            my $why = $@;
            $self->_drop_pg_db;
            croak "prepare failed ($engine): $why";
        }
    }

    my $timeout = $o{timeout} // 15;
    for my $attempt (1 .. 3) {
        $self->{port} = _free_port();
        $self->{base} = "http://127.0.0.1:$self->{port}";
        $self->{http} = HTTP::Tiny->new(
            agent        => 'billd-test/1',
            timeout      => 30,
            keep_alive   => 1,
            max_redirect => 0,
        );
        $self->_spawn;
        my $why = $self->_wait_ready($timeout);
        return $self unless defined $why;

        my $tail = $self->log_tail(40);
        $self->_kill_hard;
        if ($attempt < 3 && $tail =~ /address already in use|EADDRINUSE|bind/i) {
            Test::More::note("port $self->{port} was taken, retrying");
            if (open my $fh, '>', $self->{log}) { close $fh }
            next;
        }
        $self->_drop_pg_db;
        $self->{stop_result} = 0;    # reported by the croak below, not again by DESTROY
        $self->{keep} = 1;
        croak "billd did not start ($engine, port $self->{port}): $why\n--- server log ---\n$tail";
    }
}

sub _spawn {
    my ($self) = @_;
    my %env = (
        %ENV,
        DATABASE_URL         => $self->{db_url},
        LISTEN               => "127.0.0.1:$self->{port}",
        TZ                   => 'UTC',
        WORKERS_COUNT        => 2,
        LOG_LEVEL            => 'info',
        BILLD_ADMIN_PASSWORD => ADMIN_PASSWORD,
        SPOOL_WORKERS        => 0,    # spool tests start workers with env => {SPOOL_WORKERS => 2}
    );
    # Settings a developer may have in the shell must not leak into the tests.
    delete @env{qw(TRUSTED_IPS MIN_PASSWORD_LENGTH MAX_CONNECTIONS MAX_CONNECTIONS_PER_IP
                   IDLE_TIMEOUT ENABLE_RATE_LIMIT LEGACY_PAYSYSTEMS_PATH)};
    # a fixed identity-encryption key, so no var/secret.key appears in the working directory
    delete @env{qw(BILLD_SECRET_KEY BILLD_SECRET_KEY_FILE BILLD_SECRET_KEY_OLD)};
    $env{BILLD_SECRET_KEY} = '5eed' x 16
        unless exists $self->{env}{BILLD_SECRET_KEY} || exists $self->{env}{BILLD_SECRET_KEY_FILE};
    while (my ($k, $v) = each %{ $self->{env} }) {
        if (defined $v) { $env{$k} = $v } else { delete $env{$k} }
    }

    my $pid = fork;
    croak "fork: $!" unless defined $pid;
    if (!$pid) {
        %ENV = %env;
        chdir $self->{dir};
        open STDIN, '<', '/dev/null';
        open STDOUT, '>>', $self->{log} or POSIX::_exit(126);
        open STDERR, '>&', \*STDOUT or POSIX::_exit(126);
        { exec { $self->{bin} } $self->{bin}, 'serve' }
        print STDERR "billd-test: exec $self->{bin}: $!\n";
        POSIX::_exit(127);
    }
    $self->{pid}     = $pid;
    $self->{stopped} = 0;
    $LIVE{ refaddr $self } = $self;
    weaken $LIVE{ refaddr $self };
    return;
}

# Returns undef when the server answers GET /shm/v1/healthcheck with 200, else the reason.
sub _wait_ready {
    my ($self, $timeout) = @_;
    my $probe = HTTP::Tiny->new(timeout => 2, keep_alive => 0);
    my $deadline = time + $timeout;
    my $last = 'no answer';
    while (time < $deadline) {
        my $w = waitpid($self->{pid}, WNOHANG);
        if ($w == $self->{pid}) {
            my $st = $?;
            $self->{exit_status} = $st;
            $self->{stopped} = 1;
            delete $LIVE{ refaddr $self };
            return 'exited during start-up with ' . _describe_status($st);
        }
        my $r = $probe->get("$self->{base}/shm/v1/healthcheck");
        return undef if $r->{status} == 200;
        $last = $r->{status} == 599 ? 'connection failed' : "healthcheck answered $r->{status}";
        sleep 0.05;
    }
    return "not ready after $timeout s ($last)";
}

sub _kill_hard {
    my ($self) = @_;
    return if $self->{stopped} || !$self->{pid};
    local $?;
    kill 'KILL', $self->{pid};
    waitpid($self->{pid}, 0);
    $self->{stopped} = 1;
    delete $LIVE{ refaddr $self };
}

sub _describe_status {
    my ($st) = @_;
    return 'signal ' . ($st & 127) . (($st & 128) ? ' (core dumped)' : '') if $st & 127;
    return 'exit status ' . ($st >> 8);
}

# SIGTERM, wait up to 10 s (then SIGKILL); emits one test "server exited cleanly" that fails
# on a non-zero exit, a signal, a timeout or a sanitizer report in the log. Dumps the log tail
# when that test or any earlier test in the current (sub)test failed. Returns the test result.
sub stop {
    my ($self, %o) = @_;
    return $self->{stop_result} if exists $self->{stop_result};
    return 1 if !$self->{pid} || $self->{owner} != $$;
    local $?;

    my @problems;
    my $st;
    if ($self->{stopped}) {
        $st = $self->{exit_status};
        push @problems, 'the server exited before stop() was called ('
          . (defined $st ? _describe_status($st) : 'unknown status') . ')';
    }
    else {
        kill 'TERM', $self->{pid};
        my $deadline = time + 10;
        while (1) {
            my $w = waitpid($self->{pid}, WNOHANG);
            if ($w == $self->{pid}) { $st = $?; last }
            if ($w < 0) { last }
            if (time > $deadline) {
                kill 'KILL', $self->{pid};
                waitpid($self->{pid}, 0);
                push @problems, 'did not exit within 10 s of SIGTERM (sent SIGKILL)';
                last;
            }
            sleep 0.02;
        }
        $self->{stopped} = 1;
        delete $LIVE{ refaddr $self };
        push @problems, 'exited with ' . _describe_status($st) if defined $st && $st != 0;
    }

    my $log = $self->log_text;
    my @san = grep { /$SANITIZER_RE/ } split /\n/, $log;
    push @problems, 'sanitizer report in the server log: ' . $san[0] if @san;

    local $Test::Builder::Level = $Test::Builder::Level + 1;
    my $ok = Test::More::ok(!@problems, "server exited cleanly ($self->{engine})");
    if (!$ok) {
        Test::More::diag($_) for @problems;
        $self->_dump_log;
    }
    elsif ($o{implicit}) {
        Test::More::diag("the test did not call stop() on the $self->{engine} server (did it die?)");
        $self->_dump_log;
    }
    elsif (!_passing()) {
        $self->_dump_log;
    }
    $self->{stop_result} = $ok ? 1 : 0;
    $self->_drop_pg_db;
    if ($ok && !$o{implicit} && _passing() && !$ENV{BILLD_TEST_KEEP}) {
        remove_tree($self->{dir});
    }
    else {
        Test::More::diag("kept $self->{dir} (server log"
              . ($self->{engine} eq 'sqlite' ? ' and SQLite database' : '') . ')')
          if -d $self->{dir};
    }
    return $self->{stop_result};
}

sub _passing {
    my $ok = eval { Test::More->builder->is_passing };
    return defined $ok ? $ok : 1;
}

sub _dump_log {
    my ($self) = @_;
    return if $self->{log_dumped}++;
    my $log = $self->log_text;
    my @lines = split /\n/, $log;
    my $first_san;
    for my $i (0 .. $#lines) {
        if ($lines[$i] =~ /$SANITIZER_RE/) { $first_san = $i; last }
    }
    my @show;
    if (defined $first_san) {
        my $from = $first_san > 10 ? $first_san - 10 : 0;
        my $to   = $first_san + 150 < $#lines ? $first_san + 150 : $#lines;
        @show = @lines[ $from .. $to ];
    }
    else {
        @show = @lines > 60 ? @lines[ -60 .. -1 ] : @lines;
    }
    Test::More::diag("--- billd log ($self->{engine}, $self->{log}), "
          . scalar(@show) . ' of ' . scalar(@lines) . " lines ---\n"
          . join("\n", @show) . "\n--- end of billd log ---");
}

sub DESTROY {
    my ($self) = @_;
    return if !$self->{pid} || ($self->{owner} // 0) != $$;
    local ($@, $!, $?);
    if (${^GLOBAL_PHASE} eq 'DESTRUCT') {
        $self->_kill_hard;
        $self->_drop_pg_db;
        remove_tree($self->{dir}) if $self->{dir} && !$ENV{BILLD_TEST_KEEP} && !$self->{keep};
        return;
    }
    eval { $self->stop(implicit => 1) } unless exists $self->{stop_result};
}

END {
    local $?;
    for my $s (grep { defined } values %LIVE) {
        next if $s->{owner} != $$ || exists $s->{stop_result};
        Test::More::diag("billd ($s->{engine}) was still running at exit; stopping it");
        eval { $s->stop(implicit => 1) };
    }
}

# ---------------------------------------------------------------------------------------
# accessors

sub port   { $_[0]{port} }
sub base   { $_[0]{base} }
sub engine { $_[0]{engine} }
sub db_url { $_[0]{db_url} }
sub pid    { $_[0]{pid} }

sub log_text {
    my ($self) = @_;
    open my $fh, '<', $self->{log} or return '';
    local $/;
    my $t = <$fh>;
    return $t // '';
}

sub log_tail {
    my ($self, $n) = @_;
    my @l = split /\n/, $self->log_text;
    @l = @l[ -$n .. -1 ] if @l > $n;
    return join("\n", @l);
}

sub alive {
    my ($self) = @_;
    return 0 if $self->{stopped};
    local $?;
    my $w = waitpid($self->{pid}, WNOHANG);
    if ($w == $self->{pid}) {
        $self->{exit_status} = $?;
        $self->{stopped} = 1;
        delete $LIVE{ refaddr $self };
        return 0;
    }
    return 1;
}

# ---------------------------------------------------------------------------------------
# HTTP

# $s->req($method, $path, %opt) -> {status, reason, headers, body, json}
sub req {
    my ($self, $method, $path, %o) = @_;
    croak "path must be absolute: $path" unless $path =~ m{^/};
    my %h;
    while (my ($k, $v) = each %{ $o{headers} || {} }) { $h{ lc $k } = $v }

    my $content;
    if (exists $o{json}) {
        $content = $JSON_ENC->encode($o{json});
        $h{'content-type'} //= 'application/json';
    }
    elsif ($o{form}) {
        $content = $self->{http}->www_form_urlencode($o{form});
        $h{'content-type'} //= 'application/x-www-form-urlencoded';
    }
    elsif (defined $o{body}) {
        $content = $o{body};
        $h{'content-type'} = $o{type} if defined $o{type};
    }
    if ($o{query}) {
        my $q = $self->{http}->www_form_urlencode($o{query});
        $path .= ($path =~ /\?/ ? '&' : '?') . $q if length $q;
    }
    $h{'session-id'} = $o{session} if defined $o{session};
    if ($o{basic}) {
        my ($l, $p) = @{ $o{basic} };
        $h{authorization} = 'Basic ' . encode_base64("$l:$p", '');
    }
    if ($o{login}) {
        ($h{login}, $h{password}) = @{ $o{login} };
    }
    $h{cookie} = $o{cookie} if defined $o{cookie};

    my %args = (headers => \%h);
    $args{content} = $content if defined $content;
    my $res = $self->{http}->request($method, $self->{base} . $path, \%args);

    my %hdr;
    while (my ($k, $v) = each %{ $res->{headers} || {} }) {
        $hdr{ lc $k } = ref $v eq 'ARRAY' ? join(', ', @$v) : $v;
    }
    my $body = $res->{content} // '';
    my $json;
    if (length $body) {
        $json = eval { $JSON_DEC->decode($body) };
    }
    if ($res->{status} == 599) {
        my $why = $body;
        chomp $why;
        Test::More::diag("$method $path: no HTTP response: $why"
              . ($self->alive ? '' : ' (the server process is gone!)'));
    }
    return {
        status  => $res->{status},
        reason  => $res->{reason},
        headers => \%hdr,
        body    => $body,
        json    => $json,
    };
}

# Password login through POST /shm/v1/user/auth; returns the session id or dies.
sub login {
    my ($self, $login, $password, %o) = @_;
    my $r = $self->req(POST => '/shm/v1/user/auth', json => { login => $login, password => $password },
        %o);
    croak "login($login) failed: HTTP $r->{status} $r->{body}"
      unless $r->{status} == 200 && ref $r->{json} eq 'HASH' && defined $r->{json}{id};
    return $r->{json}{id};
}

sub admin_session {
    my ($self) = @_;
    return $self->{admin_sid} //= $self->login(ADMIN_LOGIN, ADMIN_PASSWORD);
}

# Registration through PUT /shm/v1/user; returns the new user row or dies.
sub register {
    my ($self, $login, $password, %o) = @_;
    my $r = $self->req(PUT => '/shm/v1/user', json => { login => $login, password => $password }, %o);
    croak "register($login) failed: HTTP $r->{status} $r->{body}"
      unless $r->{status} == 200 && ref $r->{json} eq 'HASH' && ref $r->{json}{data} eq 'ARRAY'
      && ref $r->{json}{data}[0] eq 'HASH';
    return $r->{json}{data}[0];
}

# Sends raw bytes over a fresh TCP connection and returns the raw response text (possibly
# empty). Reading stops at the end of the first complete response (Content-Length, chunked,
# or a status without a body), at EOF, or after `timeout` seconds (default 3).
sub raw {
    my ($self, $bytes, %o) = @_;
    my $timeout = $o{timeout} // 3;
    my $sock = IO::Socket::INET->new(
        PeerAddr => '127.0.0.1',
        PeerPort => $self->{port},
        Proto    => 'tcp',
        Timeout  => $timeout,
    ) or croak "raw: connect to port $self->{port}: $!";
    binmode $sock;
    $sock->blocking(0);
    local $SIG{PIPE} = 'IGNORE';

    my $sel = IO::Select->new($sock);
    my $deadline = time + $timeout;
    my ($off, $in, $eof) = (0, '', 0);
    while (!$eof) {
        my $left = $deadline - time;
        last if $left <= 0;
        my ($r, $w) = IO::Select->select($sel, ($off < length $bytes ? $sel : undef), undef, $left);
        if ($w && @$w) {
            my $n = syswrite($sock, $bytes, 65536, $off);
            if (defined $n) { $off += $n }
            elsif (!$!{EAGAIN} && !$!{EINTR}) { $off = length $bytes }    # peer gone: stop writing
        }
        if ($r && @$r) {
            my $n = sysread($sock, my $buf, 65536);
            if (!defined $n) {
                next if $!{EAGAIN} || $!{EINTR};
                $eof = 1;    # ECONNRESET etc.
            }
            elsif ($n == 0) { $eof = 1 }
            else {
                $in .= $buf;
                last if _raw_complete($in);
            }
        }
    }
    close $sock;
    return $in;
}

# True when $in holds at least one complete HTTP response (1xx interim responses skipped).
sub _raw_complete {
    my ($in) = @_;
    my $pos = 0;
    while (1) {
        my $end = index($in, "\r\n\r\n", $pos);
        return 0 if $end < 0;
        my $head = substr($in, $pos, $end - $pos);
        my $body_at = $end + 4;
        my ($code) = $head =~ m{^HTTP/\d\.\d (\d{3})};
        return 1 unless defined $code;    # garbage: nothing more to wait for
        if ($code =~ /^1/) { $pos = $body_at; next }
        return 1 if $code == 204 || $code == 304;
        if ($head =~ /^transfer-encoding:[^\r\n]*chunked/im) {
            my $p = $body_at;
            while (1) {
                my $nl = index($in, "\r\n", $p);
                return 0 if $nl < 0;
                my ($hex) = substr($in, $p, $nl - $p) =~ /^([0-9a-fA-F]+)/;
                return 1 unless defined $hex;
                my $size = hex $hex;
                # last chunk: complete once the (possibly empty) trailer section ends
                return index($in, "\r\n\r\n", $nl) >= 0 ? 1 : 0 if $size == 0;
                $p = $nl + 2 + $size + 2;
                return 0 if $p > length $in;
            }
        }
        if ($head =~ /^content-length:\s*(\d+)/im) {
            return length($in) >= $body_at + $1 ? 1 : 0;
        }
        return 0;    # body delimited by EOF
    }
}

# Status code of a raw response text (interim 1xx responses skipped), or undef.
sub raw_status {
    my ($text) = @_;
    return undef unless defined $text;
    my $pos = 0;
    while (substr($text, $pos) =~ m{^HTTP/\d\.\d (\d{3})}) {
        my $code = $1;
        return $code unless $code =~ /^1/;
        my $end = index($text, "\r\n\r\n", $pos);
        return $code if $end < 0;
        $pos = $end + 4;
    }
    return undef;
}

# Parses the first final response of a raw response text into the shape req() returns:
# {status, reason, headers (lower-cased, repeated ones joined with ", "), body (de-chunked),
# json}. Returns undef when there is no status line.
sub parse_raw {
    my ($text) = @_;
    return undef unless defined $text;
    my $pos = 0;
    while (1) {
        my $end = index($text, "\r\n\r\n", $pos);
        return undef if $end < 0;
        my ($line, @lines) = split /\r\n/, substr($text, $pos, $end - $pos);
        my ($code, $reason) = ($line // '') =~ m{^HTTP/\d\.\d (\d{3})(?: ([^\r\n]*))?$}
          or return undef;
        $pos = $end + 4;
        next if $code =~ /^1/;
        my %h;
        for (@lines) {
            my ($k, $v) = /^([^:]+):[ \t]*(.*?)[ \t]*$/ or next;
            $k = lc $k;
            $h{$k} = exists $h{$k} ? "$h{$k}, $v" : $v;
        }
        my $rest = substr($text, $pos);
        my $body = '';
        if ($code == 204 || $code == 304) {
        }
        elsif (($h{'transfer-encoding'} // '') =~ /chunked/i) {
            while ($rest =~ s/^([0-9a-fA-F]+)[^\r\n]*\r\n//) {
                my $n = hex $1;
                last if $n == 0;
                $body .= substr($rest, 0, $n);
                substr($rest, 0, $n + 2) = '';
            }
        }
        elsif (defined $h{'content-length'} && $h{'content-length'} =~ /^\d+$/) {
            $body = substr($rest, 0, $h{'content-length'});
        }
        else {
            $body = $rest;
        }
        my $json = length $body ? eval { $JSON_DEC->decode($body) } : undef;
        return { status => $code, reason => $reason, headers => \%h, body => $body, json => $json };
    }
}

# ---------------------------------------------------------------------------------------
# JSON helpers (exported on request)

# Canonical JSON text (sorted keys, number/string types preserved) of a response body, or
# undef when the body is not JSON. Compare error bodies exactly:
#   is canon($r), '{"error":"Method not found","status":404}';
sub canon {
    my ($r) = @_;
    my $body = ref $r ? $r->{body} : $r;
    return undef unless defined $body && length $body;
    my $d = eval { $JSON_DEC->decode($body) };
    return undef if $@;
    return $JSON_CANON->encode($d);
}

# Canonical JSON text of the value at a path inside a response body (hash keys / array
# indexes), from a fresh decode so that the JSON type is exact: '"2"' vs '2', 'null'.
# Returns undef when the path does not exist.
sub jenc {
    my ($r, @path) = @_;
    my $body = ref $r ? $r->{body} : $r;
    my $d = eval { $JSON_DEC->decode($body // '') };
    return undef if $@;
    for my $k (@path) {
        if (ref $d eq 'HASH') {
            return undef unless exists $d->{$k};
            $d = $d->{$k};
        }
        elsif (ref $d eq 'ARRAY') {
            return undef unless $k =~ /^-?\d+$/ && $k < @$d;
            $d = $d->[$k];
        }
        else {
            return undef;
        }
    }
    return $JSON_CANON->encode($d);
}

# ---------------------------------------------------------------------------------------
# helpers

sub _free_port {
    for (1 .. 100) {
        # Below the kernel's ephemeral range, so an outgoing connection cannot take it.
        my $port = 20000 + int(rand(12000));
        my $s = IO::Socket::INET->new(
            LocalAddr => '127.0.0.1',
            LocalPort => $port,
            Proto     => 'tcp',
            Listen    => 1,
            ReuseAddr => 1,
        ) or next;
        close $s;
        return $port;
    }
    my $s = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => 0, Proto => 'tcp',
        Listen => 1) or croak "no free port: $!";
    my $port = $s->sockport;
    close $s;
    return $port;
}

# Runs one SQL statement directly on the server's database (sqlite3 or psql) and returns
# its output rows as a list of strings (columns joined by "|"); croaks on error. For setting
# up rows that no API creates yet; prefer the API everywhere else.
sub sql {
    my ($self, $stmt) = @_;
    my @cmd;
    if ($self->{engine} eq 'pg') {
        @cmd = ('psql', '-X', '-q', '-A', '-t', '-v', 'ON_ERROR_STOP=1', '-d', $self->{db_url},
                '-c', $stmt);
    } else {
        (my $file = $self->{db_url}) =~ s{^sqlite://}{};
        @cmd = ('sqlite3', '-bail', '-cmd', '.timeout 5000', $file, $stmt);
    }
    my $pid = open(my $fh, '-|');
    croak "fork: $!" unless defined $pid;
    if (!$pid) {
        open STDERR, '>&', \*STDOUT;
        { exec @cmd }
        print "exec $cmd[0]: $!\n";
        POSIX::_exit(127);
    }
    my @rows = <$fh>;
    close $fh;
    croak "sql failed ($stmt): @rows" if $?;
    chomp @rows;
    return @rows;
}

sub _psql {
    my ($url, $sql) = @_;
    my $pid = open(my $fh, '-|');
    croak "fork: $!" unless defined $pid;
    if (!$pid) {
        open STDERR, '>&', \*STDOUT;
        { exec 'psql', '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d', $url, '-c', $sql }
        print "exec psql: $!\n";
        POSIX::_exit(127);
    }
    local $/;
    my $out = <$fh> // '';
    close $fh;
    return ($? == 0, $out);
}

sub _create_pg_db {
    my ($self) = @_;
    my $url = $ENV{BILLD_TEST_PG_URL} or croak 'engine pg needs BILLD_TEST_PG_URL';
    $url =~ m{^(postgres(?:ql)?://[^/?#]*)(?:/[^?#]*)?(\?[^#]*)?$}
      or croak "cannot parse BILLD_TEST_PG_URL=$url";
    my ($prefix, $params) = ($1, $2 // '');
    my $name = sprintf 'billd_t_%d_%d_%06d', $$, ++$DB_SEQ, int(rand(1e6));
    my ($ok, $out) = _psql($url, qq{CREATE DATABASE "$name"});
    croak "CREATE DATABASE $name failed: $out" unless $ok;
    $self->{pg_admin_url} = $url;
    $self->{pg_db}        = $name;
    $self->{db_url}       = "$prefix/$name$params";
}

sub _drop_pg_db {
    my ($self) = @_;
    my $name = delete $self->{pg_db} or return;
    return if $ENV{BILLD_TEST_KEEP};
    my ($ok, $out) = _psql($self->{pg_admin_url}, qq{DROP DATABASE IF EXISTS "$name" WITH (FORCE)});
    Test::More::diag("DROP DATABASE $name failed: $out") unless $ok;
}

1;
