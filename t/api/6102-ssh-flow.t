# The SSH provisioning flow end to end (issue 6; transports.md §1, spool.md §5, §8,
# templates.md §7): a VPN service with a DNS child, their events bound to two server groups
# whose servers are reached over SSH (a real sshd, t/lib/Sshd.pm), spool workers inside
# `billd serve`. Ordering the parent runs the child's CREATE first, then the parent's
# `vpn_create.sh --login="vpn_{{ us.id }}" --password="{{ us.gen_store_pass }}" …`, which stores
# a key through the API with a session from `user.gen_session`; the user downloads it from
# storage. Blocking and removing the parent run the commands bottom-up, and every command's
# output is in its console. Both engines. (Arguments are quoted in the commands: the template
# engine's PRE_CHOMP removes a bare space between two tags, as SHM's does.)
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use BilldTest qw(engines jenc);
use JSON::PP;
use Time::HiRes qw(sleep time);
use Sshd;

my $sshd = Sshd->start;
plan skip_all => "cannot start sshd: $Sshd::WHY" unless $sshd;

my $JSON = JSON::PP->new->canonical->allow_nonref;
my $DIR  = $sshd->dir;
my ($S, %A);

# The provisioning scripts on the "servers" (the test sshd runs them as the current user).
sub write_script {
    my ($name, $body) = @_;
    open my $fh, '>', "$DIR/$name" or die "$name: $!";
    print $fh "#!/bin/bash\nset -e\n$body";
    close $fh;
    chmod 0755, "$DIR/$name";
}

write_script('vpn_create.sh', <<'SH');
for a in "$@"; do
    case "$a" in
        --login=*) login="${a#--login=}" ;;
        --password=*) password="${a#--password=}" ;;
        --session=*) session="${a#--session=}" ;;
        --api=*) api="${a#--api=}" ;;
    esac
done
echo "creating $login on $(hostname -s 2>/dev/null || echo host)"
echo "$password" > "$(dirname "$0")/password.$login"
code=$(curl -s -o /dev/null -w '%{http_code}' -X PUT -H "session-id: $session" \
    --data-binary "[Interface] key-for-$login" "$api/shm/v1/storage/manage/vpn_key_${login#vpn_}")
echo "key stored: HTTP $code"
test "$code" = 200
SH
write_script('event.sh', <<'SH');
echo "$1 $2 $3" >> "$(dirname "$0")/events.log"
echo "$1 done for $2"
SH

sub data0 { my ($r) = @_; return ref $r->{json} eq 'HASH' ? $r->{json}{data}[0] // {} : {} }

sub ok_req {
    my ($method, $path, $json, $what) = @_;
    my $r = $S->req($method => "/shm/v1$path", %A, json => $json);
    is $r->{status}, 200, $what // "$method $path" or diag $r->{body};
    return $r;
}

sub one { my ($sql) = @_; my @r = $S->sql($sql); return $r[0] }

sub us_status { one("SELECT status FROM user_services WHERE user_service_id = $_[0]") // '' }

# Polls $cond for up to 30 s (the tasks run in the daemon's workers); fails when it never holds.
sub wait_until {
    my ($what, $cond) = @_;
    my $deadline = time + 30;
    while (time < $deadline) {
        return 1 if $cond->();
        sleep 0.1;
    }
    return ok(0, "timed out waiting for: $what");
}

sub events_log {
    open my $fh, '<', "$DIR/events.log" or return [];
    chomp(my @l = <$fh>);
    return \@l;
}

# The console text of the last execution of the us's task for event $name.
sub console_for {
    my ($usi, $name) = @_;
    my @rows = $S->sql("SELECT response FROM spool_history WHERE user_service_id = $usi ORDER BY id");
    my $pid;
    for my $resp (@rows) {
        my $j = eval { $JSON->decode($resp) } or next;
        my $r = $j->{response} || {};
        $pid = $r->{pipeline_id} if ($r->{cmd} // '') =~ /\b$name\b/ || ($name eq 'CREATE' && ($r->{cmd} // '') =~ /vpn_create/);
    }
    return '' unless $pid;
    my $r = $S->req(GET => '/shm/admin/console.cgi', %A, query => { id => $pid });
    return $r->{headers}{'x-console-eof'} eq '1' ? $r->{body} : "(not finished) $r->{body}";
}

for my $engine (engines()) {
    subtest $engine => sub {
        unlink "$DIR/events.log";
        $S = BilldTest->start(engine => $engine, env => { SPOOL_WORKERS => 2 });
        %A = (session => $S->admin_session);
        my $api  = $S->base;
        my $user = $sshd->user;

        my $r = ok_req(PUT => '/admin/server/identity', { name => 'deploy', private_key => $sshd->client_key }, 'identity');
        my $kid = data0($r)->{id};
        my %gid;
        for my $g (qw(vpn dns)) {
            $r = ok_req(PUT => '/admin/server/group', { name => "$g-nodes", transport => 'ssh' }, "group $g");
            $gid{$g} = data0($r)->{group_id};
        }
        # two servers (two names for the same test sshd), one per group
        my %srv;
        for ([ vpn => '127.0.0.1' ], [ dns => 'localhost' ]) {
            my ($g, $h) = @$_;
            $r = ok_req(PUT => '/admin/server', { server_gid => $gid{$g}, name => "$g-1", transport => 'ssh',
                host => "$user\@$h", settings => { key_id => $kid, port => $sshd->port } }, "server $g-1");
            $srv{$g} = data0($r)->{server_id};
        }
        my $create = qq{$DIR/vpn_create.sh --login="vpn_{{ us.id }}" --password="{{ us.gen_store_pass }}"}
          . qq{ --session="{{ user.gen_session.id }}" --api=$api};
        for my $ev ([ vpn => create => $create ], [ vpn => block => qq{$DIR/event.sh BLOCK "vpn_{{ us.id }}" "{{ server.name }}"} ],
                    [ vpn => remove => qq{$DIR/event.sh REMOVE "vpn_{{ us.id }}" "{{ server.name }}"} ]) {
            my ($cat, $name, $cmd) = @$ev;
            ok_req(PUT => '/admin/service/event', { title => "$name $cat", name => $name, server_gid => $gid{$cat},
                settings => { category => $cat, cmd => $cmd } }, "event $name $cat");
        }
        for my $name (qw(create block remove)) {
            ok_req(PUT => '/admin/service/event', { title => "$name dns", name => $name, server_gid => $gid{dns},
                settings => { category => 'dns', cmd => qq{$DIR/event.sh \U$name\E "dns_{{ us.id }}" "{{ server.name }}"} } },
              "event $name dns");
        }
        $r = ok_req(PUT => '/admin/service', { name => 'DNS', category => 'dns', period => 1, cost => 0, allow_to_order => 0 }, 'child service');
        my $dns = data0($r)->{service_id};
        $r = ok_req(PUT => '/admin/service', { name => 'VPN', category => 'vpn', period => 1, cost => 100,
            allow_to_order => 1, children => [$dns] }, 'VPN service with the DNS child');
        my $vpn = data0($r)->{service_id};
        $r = ok_req(PUT => '/admin/user', { login => 'vpnbuyer', password => 'Password1' }, 'user');
        my $uid = data0($r)->{user_id};
        ok_req(POST => '/admin/user', { user_id => $uid, balance => 500 }, 'balance');

        my ($usi, $child);
        subtest 'order → CREATE over SSH: child first, the key lands in storage' => sub {
            $r = ok_req(PUT => '/admin/service/order', { user_id => $uid, service_id => $vpn }, 'order');
            $usi = data0($r)->{user_service_id};
            ($child) = $S->sql("SELECT user_service_id FROM user_services WHERE parent = $usi");
            ok $child, 'the child us exists';
            wait_until('both ACTIVE', sub { us_status($usi) eq 'ACTIVE' && us_status($child) eq 'ACTIVE' });
            is us_status($usi), 'ACTIVE', 'parent ACTIVE';
            is us_status($child), 'ACTIVE', 'child ACTIVE';
            is_deeply events_log(), ["CREATE dns_$child dns-1"], "the child's CREATE ran on the DNS server";
            my $hc = one("SELECT min(id) FROM spool_history WHERE user_service_id = $child AND status = 'SUCCESS'");
            my $hp = one("SELECT min(id) FROM spool_history WHERE user_service_id = $usi AND status = 'SUCCESS'");
            ok $hc && $hp && $hc < $hp, 'bottom-up: the child finished before the parent ran';

            my $login = "vpn_$usi";
            open my $fh, '<', "$DIR/password.$login" or die "password file: $!";
            chomp(my $pw = <$fh>);
            $r = $S->req(GET => '/shm/v1/admin/user/service', %A, query => { user_id => $uid, user_service_id => $usi });
            is jenc($r, 'data', 0, 'settings', 'password'), $JSON->encode($pw), 'us.gen_store_pass stored the password the script got';
            like $pw, qr/^\S{8,}$/, 'a generated password';
            is jenc($r, 'data', 0, 'settings', 'server_id'), $srv{vpn}, 'the us is bound to the VPN server';

            my $us = $S->login('vpnbuyer', 'Password1');
            $r = $S->req(GET => "/shm/v1/storage/download/vpn_key_$usi", session => $us);
            is $r->{status}, 200, 'the user downloads the key';
            is $r->{body}, "[Interface] key-for-$login", 'the key the script stored';

            my $log = console_for($usi, 'CREATE');
            like $log, qr{^<font color=yellow>Trying connect to: \Q$user\E\@127\.0\.0\.1 \(timeout: 10s\) port \d+</font>\n<font color=green>SUCCESS</font>\n\n}, 'console: connection';
            like $log, qr{\ncreating \Q$login\E on .*\nkey stored: HTTP 200\n\n<font color=green>DONE</font>\n$}, 'console: the script output, DONE';
            unlike $log, qr/\Q$pw\E/, 'the password is not in the console output';
        };

        subtest 'block, then remove: bottom-up on both servers' => sub {
            ok_req(POST => '/admin/user/service/stop', { user_id => $uid, user_service_id => $usi }, 'stop');
            wait_until('BLOCK', sub { us_status($usi) eq 'BLOCK' && us_status($child) eq 'BLOCK' });
            is us_status($usi), 'BLOCK', 'parent BLOCK';
            is us_status($child), 'BLOCK', 'child BLOCK';
            $r = $S->req(DELETE => '/shm/v1/admin/user/service', %A, json => { user_id => $uid, user_service_id => $usi });
            is $r->{status}, 200, 'delete' or diag $r->{body};
            wait_until('REMOVED', sub { us_status($usi) eq 'REMOVED' && us_status($child) eq 'REMOVED' });
            is_deeply events_log(), [ "CREATE dns_$child dns-1", "BLOCK dns_$child dns-1", "BLOCK vpn_$usi vpn-1",
                                      "REMOVE dns_$child dns-1", "REMOVE vpn_$usi vpn-1" ],
              'each command ran once, children before the parent, on their own servers';
            like console_for($usi, 'REMOVE'), qr{\nREMOVE done for vpn_$usi\n\n<font color=green>DONE</font>\n$}, 'the REMOVE console';
            like console_for($child, 'BLOCK'), qr{\nBLOCK done for dns_$child\n}, "the child's BLOCK console";
            is one("SELECT count(*) FROM spool WHERE user_service_id IN ($usi, $child)"), 0, 'nothing left in the spool';
        };

        $S->stop;
    };
}

done_testing;
