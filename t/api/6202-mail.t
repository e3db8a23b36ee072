# The mail transport end to end (transports.md §3, spool.md §5.4, DECISIONS D9) and the admin
# mail test (api.md R140 and the legacy L8 /shm/admin/mail_test.cgi), on both engines: an event bound to a server group with transport
# mail, a service order queues the task, `billd spool --once` delivers it to SmtpSink on
# 127.0.0.1 with SMTP AUTH — recipient = the user's e-mail, subject from the template's
# settings (RFC 2047, decoded here by Perl's Encode), sender name from config `mail`, the
# body rendered as the user with us; the service becomes ACTIVE. The test route queues a
# test e-mail (settings override subject/to); a recipient the server refuses (550) parks the
# task as STUCK; bad arguments answer 400.
use strict;
use warnings;
use utf8;
use Encode qw(encode_utf8);
use lib 't/lib';
use Test::More;
use File::Temp qw(tempdir);
use JSON::PP;
use BilldTest qw(engines);
use SmtpSink;

my $JSON = JSON::PP->new->utf8->canonical->allow_nonref;
binmode $_, ':encoding(UTF-8)' for Test::More->builder->output, Test::More->builder->failure_output;
my ($S, %A);

sub data0 { my ($r) = @_; return ref $r->{json} eq 'HASH' ? $r->{json}{data}[0] // {} : {} }

sub ok_req {
    my ($method, $path, $json, $what) = @_;
    my $r = $S->req($method => "/shm/v1$path", %A, json => $json);
    is $r->{status}, 200, $what // "$method $path" or diag $r->{body};
    return $r;
}

sub one { my @r = $S->sql($_[0]); return $r[0] }

sub run_spool {
    local $ENV{DATABASE_URL}     = $S->db_url;
    local $ENV{BILLD_SECRET_KEY} = '5eed' x 16;
    local $ENV{TZ}               = 'UTC';
    local $ENV{LOG_LEVEL}        = 'warn';
    my $out = `"$ENV{BILLD_BIN}" spool --once 2>&1`;
    is $?, 0, 'billd spool --once' or diag $out;
}

sub task_history {
    my ($id) = @_;
    my ($st, $resp) = split /\|/, one("SELECT status, response FROM spool_history"
        . " WHERE spool_id = $id ORDER BY id DESC"), 2;
    return ($st, $JSON->decode($resp)->{response});
}

for my $engine (engines()) {
    subtest $engine => sub {
        my $sink = SmtpSink->start(dir => tempdir(CLEANUP => 1), user => 'mailer',
            password => 'Sm7p pass');
        $S = BilldTest->start(engine => $engine);
        %A = (session => $S->admin_session);
        ok_req(POST => '/admin/config/mail', { from => 'billing@shm.test', from_name => 'Биллинг' },
            'config mail');
        $S->sql(encode_utf8("INSERT INTO templates (id, data, settings) VALUES ('mail_create',"
            . " 'Услуга {{ us.id }} для {{ user.login }} создана.', '{\"subject\":\"Услуга создана\"}')"));
        my $gid = data0(ok_req(PUT => '/admin/server/group', { name => 'mail', transport => 'mail' },
            'mail group'))->{group_id};
        my $server = data0(ok_req(PUT => '/admin/server', { server_gid => $gid, name => 'smtp',
            transport => 'mail', host => '127.0.0.1:' . $sink->port,
            settings => { user => 'mailer', password => 'Sm7p pass' } }, 'mail server'))->{server_id};

        subtest 'order → mail to the user → ACTIVE' => sub {
            ok_req(PUT => '/admin/service/event', { title => 'create mail', name => 'create',
                server_gid => $gid, settings => { category => 'mailed', template_id => 'mail_create' } },
                'event create');
            my $sid = data0(ok_req(PUT => '/admin/service', { name => 'mailed', period => 1,
                allow_to_order => 1, cost => 0, category => 'mailed' }, 'service'))->{service_id};
            my $uid = data0(ok_req(PUT => '/admin/user', { login => 'client@example.com',
                password => 'Password1' }, 'user'))->{user_id};
            my $usi = data0(ok_req(PUT => '/admin/service/order',
                { user_id => $uid, service_id => $sid }, 'order'))->{user_service_id};
            run_spool();
            my @m = $sink->messages;
            is scalar @m, 1, 'one message arrived';
            my $m = $m[0] // {};
            is_deeply $m->{auth}, { mech => 'PLAIN', user => 'mailer', password => 'Sm7p pass' },
                'SMTP AUTH with the server settings';
            is $m->{from}, 'billing@shm.test', 'envelope sender from config mail';
            is_deeply $m->{rcpt}, ['client@example.com'], 'recipient = the login e-mail';
            is $m->{subject}, 'Услуга создана', 'subject from the template settings';
            is $m->{from_header}, 'Биллинг <billing@shm.test>', 'sender name from config mail';
            is $m->{body}, "Услуга $usi для client\@example.com создана.", 'body rendered with us';
            is $m->{headers}{'content-type'}, 'text/plain; charset=UTF-8', 'content type';
            is one("SELECT status FROM user_services WHERE user_service_id = $usi"), 'ACTIVE',
                'the service is ACTIVE';
            my ($st, $resp) = split /\|/, one("SELECT status, response FROM spool_history"
                . " WHERE user_service_id = $usi ORDER BY id DESC"), 2;
            $resp = $JSON->decode($resp)->{response};
            is $st, 'SUCCESS', 'history SUCCESS';
            is $resp->{server}{host}, '127.0.0.1:' . $sink->port, 'response server.host';
            ok !exists $resp->{server}{id} && !exists $resp->{mail}{server_id}, 'no server id';
            ok !exists $resp->{mail}{password}, 'no password in the response';
            is $resp->{mail}{to}, 'client@example.com', 'response mail.to';
        };

        subtest 'admin mail test (R140)' => sub {
            my $r = $S->req(POST => '/shm/v1/admin/transport/mail/test', %A, json => {});
            is $r->{status}, 400, 'server_id required';
            is $r->{json}{error}, 'Field required: server_id', 'the message';
            $r = $S->req(POST => '/shm/v1/admin/transport/mail/test', %A, json => { server_id => 999 });
            is $r->{status}, 400, 'unknown server';
            is $r->{json}{error}, 'Server not exists: 999', 'the message';
            $r = $S->req(POST => '/shm/v1/admin/transport/mail/test', %A,
                json => { server_id => $server, settings => 'not json' });
            is $r->{status}, 400, 'settings must be an object';
            my $uid = data0(ok_req(PUT => '/admin/user', { login => 'plainuser', password => 'Password1' }))->{user_id};
            $r = $S->req(POST => '/shm/v1/admin/transport/mail/test',
                session => $S->login('plainuser', 'Password1'), json => { server_id => $server });
            is $r->{status}, 403, 'admins only';

            my $id = data0(ok_req(POST => '/admin/transport/mail/test',
                { server_id => $server, settings => { to => 'ops@example.com', subject => 'Проверка' } },
                'queued'))->{id};
            ok $id, 'the task id';
            run_spool();
            my @m = grep { $_->{subject} eq 'Проверка' } $sink->messages;
            is scalar @m, 1, 'the test mail arrived';
            is_deeply $m[0]{rcpt}, ['ops@example.com'], 'to from settings';
            is $m[0]{body}, 'This is test message from SHM', 'the default message';
            my ($st) = task_history($id);
            is $st, 'SUCCESS', 'history SUCCESS';

            # L8: what the admin SPA's TEST MAIL button posts (the server form)
            $r = $S->req(POST => '/shm/admin/mail_test.cgi', %A, json => { server_id => $server,
                host => '127.0.0.1:' . $sink->port, transport => 'mail',
                settings => { user => 'mailer', password => 'Sm7p pass', to => 'spa@example.com' } });
            is $r->{status}, 200, 'mail_test.cgi' or diag $r->{body};
            $r = $S->req(POST => '/shm/admin/mail_test.cgi', session => $S->login('plainuser', 'Password1'),
                json => { server_id => $server });
            is $r->{status}, 403, 'mail_test.cgi: admins only';
            run_spool();
            @m = grep { $_->{rcpt}[0] eq 'spa@example.com' } $sink->messages;
            is scalar @m, 1, 'the mail_test.cgi mail arrived';
            is $m[0]{subject}, 'This is test subject from SHM', 'the default subject';

            $id = data0(ok_req(POST => '/admin/transport/mail/test',
                { server_id => $server, settings => { to => 'reject-me@example.com' } },
                'queued a mail the server refuses'))->{id};
            run_spool();
            is one("SELECT status FROM spool WHERE id = $id"), 'STUCK', 'a 550 recipient: STUCK (D9)';
            my (undef, $resp) = task_history($id);
            like $resp->{error}, qr/550/, 'the SMTP reply in the error';
        };

        $S->stop;
        $sink->stop;
    };
}
done_testing;
