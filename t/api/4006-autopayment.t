# Saved recurring payment methods over HTTP (billing.md §21; api.md R55/R56): GET lists
# {pay_system, name} of the caller's users.settings.pay_systems entries with a payment_id
# whose config pay_systems entry has allow_recurring — never the saved tokens; DELETE removes
# the one named by pay_system, or all of them, and answers [{"success":1}] as SHM; other
# entries of settings.pay_systems stay. Users reach only their own methods.
use strict;
use warnings;
use utf8;
use lib 't/lib';
use Test::More;
use BilldTest qw(engines canon jenc);

my $AP = '/shm/v1/user/autopayment';

sub saved_of {
    my ($s, $uid) = @_;
    my $r = $s->req(GET => '/shm/v1/admin/user', session => $s->admin_session,
        query => { user_id => $uid });
    return jenc($r, 'data', 0, 'settings', 'pay_systems') // 'undef';
}

for my $engine (engines()) {
    subtest $engine => sub {
        my $s   = BilldTest->start(engine => $engine);
        my %A   = (session => $s->admin_session);
        my $uid = $s->register('ap_user', 'Secret123')->{user_id};
        my $oid = $s->register('ap_other', 'Secret123')->{user_id};
        my $sid = $s->login('ap_user', 'Secret123');

        my $r = $s->req(GET => $AP, session => $sid);
        is $r->{status}, 200, 'nothing saved: 200';
        is jenc($r, 'data'), '[]', 'nothing saved: []';

        $r = $s->req(POST => '/shm/v1/admin/config/pay_systems', %A, body =>
            '{"yoomoney":{"allow_recurring":1},"cards":{"allow_recurring":"1"},'
            . '"manual":{"allow_recurring":0}}', type => 'application/json');
        is $r->{status}, 200, 'config pay_systems: allow_recurring';
        my $saved = '{"cards":{"payment_id":"tok-c"},"manual":{"payment_id":"tok-m"},'
            . '"nopay":{"x":1},"yoomoney":{"payment_id":"tok-y","card":"4444"}}';
        for my $u ($uid, $oid) {
            $r = $s->req(POST => '/shm/v1/admin/user', %A,
                body => qq({"user_id":$u,"settings":{"pay_systems":$saved}}),
                type => 'application/json');
            is $r->{status}, 200, "settings of $u";
        }

        $r = $s->req(GET => $AP, session => $sid);
        is $r->{status}, 200, 'GET: 200';
        is jenc($r, 'data'), '[{"name":"cards","pay_system":"cards"},'
            . '{"name":"ЮMoney","pay_system":"yoomoney"}]',
            'recurring methods by pay_system; the name from the config, else the key';
        is jenc($r, 'items'), '2', 'items 2';
        unlike $r->{body}, qr/tok-|4444/, 'no saved token or field in the answer';

        $r = $s->req(GET => $AP, session => $sid, query => { user_id => $oid });
        is $r->{status}, 200, 'a user_id argument of a user is ignored';
        is scalar @{ $r->{json}{data} || [] }, 2, 'own list';
        $r = $s->req(GET => $AP, %A, query => { user_id => $oid });
        is scalar @{ $r->{json}{data} || [] }, 2, 'an admin reads the list of user_id';

        $r = $s->req(DELETE => $AP, session => $sid, query => { pay_system => 'cards' });
        is $r->{status}, 200, 'DELETE pay_system=cards: 200';
        is jenc($r, 'data'), '[{"success":1}]', 'DELETE answers [{"success":1}]';
        $r = $s->req(GET => $AP, session => $sid);
        is jenc($r, 'data'), '[{"name":"ЮMoney","pay_system":"yoomoney"}]', 'cards removed';

        $r = $s->req(DELETE => $AP, session => $sid, query => { pay_system => 'manual' });
        is jenc($r, 'data'), '[{"success":1}]', 'a non-recurring entry: success';
        is saved_of($s, $uid), '{"manual":{"payment_id":"tok-m"},"nopay":{"x":1},'
            . '"yoomoney":{"card":"4444","payment_id":"tok-y"}}',
            'non-recurring entries are not saved methods: kept';

        $r = $s->req(DELETE => $AP, session => $sid);
        is jenc($r, 'data'), '[{"success":1}]', 'DELETE without pay_system: success';
        is jenc($s->req(GET => $AP, session => $sid), 'data'), '[]', 'every method removed';
        is saved_of($s, $uid), '{"manual":{"payment_id":"tok-m"},"nopay":{"x":1}}',
            'the other entries stay';
        $r = $s->req(DELETE => $AP, session => $sid);
        is jenc($r, 'data'), '[{"success":1}]', 'nothing left to delete: success';

        is saved_of($s, $oid), '{"cards":{"payment_id":"tok-c"},"manual":{"payment_id":"tok-m"},'
            . '"nopay":{"x":1},"yoomoney":{"card":"4444","payment_id":"tok-y"}}',
            "the other user's methods are untouched";
        $r = $s->req(DELETE => $AP, %A, query => { user_id => $oid, pay_system => 'yoomoney' });
        is jenc($r, 'data'), '[{"success":1}]', 'an admin deletes for user_id';
        is jenc($s->req(GET => $AP, %A, query => { user_id => $oid }), 'data'),
            '[{"name":"cards","pay_system":"cards"}]', 'yoomoney of user_id removed';

        $r = $s->req(GET => $AP);
        is $r->{status}, 401, 'no session: 401';
        $s->stop;
    };
}

done_testing;
