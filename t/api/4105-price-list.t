# The price list (billing.md §8.2; api.md R60, R61, R84): the §8.2 vectors (composite cost,
# personal discount and no_discount, bonuses under limit_bonus_percent), the `category` and
# `filter` arguments, order_only_once, and the template-driven list of config
# billing.price_list_template_id (ids in the template's order, deleted services dropped,
# not-orderable services allowed, orderability of PUT /service/order follows it, bad output
# and a missing template are errors). Both engines.
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use BilldTest qw(engines jenc);

my ($S, %A);

sub data0 { my ($r) = @_; return ref $r->{json} eq 'HASH' ? $r->{json}{data}[0] // {} : {} }

sub mkservice {
    my (%f) = @_;
    my $r = $S->req(PUT => '/shm/v1/admin/service', %A,
        json => { name => 'svc', category => 'pl', period => 1, allow_to_order => 1, %f });
    die "cannot create a service: $r->{body}" unless $r->{status} == 200;
    return data0($r)->{service_id};
}

sub mkuser {
    my ($login, %f) = @_;
    my $r = $S->req(PUT => '/shm/v1/admin/user', %A,
        json => { login => $login, password => 'Password1' });
    die "cannot create $login: $r->{body}" unless $r->{status} == 200;
    my $id = data0($r)->{user_id};
    if (%f) {
        $r = $S->req(POST => '/shm/v1/admin/user', %A, json => { user_id => $id, %f });
        die "cannot update $login: $r->{body}" unless $r->{status} == 200;
    }
    return $id;
}

# The price list of user uid (R84), as { service_id => item } and the ids in order.
sub plist {
    my ($uid, %q) = @_;
    my $r = $S->req(GET => '/shm/v1/admin/service/order', %A, query => { user_id => $uid, %q });
    return $r unless $r->{status} == 200;
    my @items = @{ $r->{json}{data} };
    return { r => $r, ids => [ map { $_->{service_id} } @items ],
             by => { map { $_->{service_id} => $_ } @items } };
}

sub set_config {
    my (%kv) = @_;
    my $r = $S->req(POST => '/shm/v1/admin/config/billing', %A, json => {%kv});
    is $r->{status}, 200, 'config billing updated' or diag $r->{body};
}

sub put_template {
    my ($id, $data) = @_;
    $S->req(DELETE => '/shm/v1/admin/template', %A, query => { id => $id });
    my $r = $S->req(PUT => '/shm/v1/admin/template', %A, json => { id => $id, data => $data });
    is $r->{status}, 200, "template $id stored" or diag $r->{body};
}

for my $engine (engines()) {
    subtest $engine => sub {
        $S = BilldTest->start(engine => $engine, env => { TZ => 'UTC' });
        %A = (session => $S->admin_session);
        my $r = $S->req(POST => '/shm/v1/admin/config/billing', %A, json => { type => 'Honest' });
        is $r->{status}, 200, 'Honest' or diag $r->{body};

        subtest '§8.2 vectors' => sub {
            my $child = mkservice(cost => 10, category => 'plc', allow_to_order => 0);
            my $comp = mkservice(cost => 100, category => 'plv', is_composite => 1,
                children => [{ service_id => $child, qnt => 2 }]);
            my $nodisc = mkservice(cost => 100, category => 'plv', is_composite => 1,
                no_discount => 1, children => [{ service_id => $child, qnt => 2 }]);
            my $lim = mkservice(cost => 100, category => 'plb',
                config => { limit_bonus_percent => 30 });

            my $u = mkuser('pl_plain');
            my $p = plist($u, category => 'plv');
            is_deeply $p->{ids}, [ $comp, $nodisc ], 'category plv: the two, ascending ids';
            is $p->{by}{$comp}{cost}, 120, 'composite 100 + 10 × 2 = 120';
            is $p->{by}{$comp}{real_cost}, 120, 'no discount: real_cost 120';

            my $ud = mkuser('pl_disc', discount => 10);
            $p = plist($ud, category => 'plv');
            is $p->{by}{$nodisc}{cost}, 120, 'no_discount: cost 120';
            is $p->{by}{$nodisc}{discount}, 0, 'no_discount: discount 0';
            is $p->{by}{$nodisc}{real_cost}, 120, 'no_discount: real_cost 120';
            is $p->{by}{$comp}{discount}, 10, 'discount 10';
            is $p->{by}{$comp}{cost_discount}, 12, 'cost_discount 12';
            is $p->{by}{$comp}{real_cost}, 108, 'real_cost 108';

            my $ub = mkuser('pl_bonus', discount => 50, bonus => 99);
            $p = plist($ub, category => 'plb');
            is $p->{by}{$lim}{cost_bonus}, 15, 'limit 30 %, discount 50: cost_bonus 15';
            is $p->{by}{$lim}{real_cost}, 50, 'real_cost 50';
            is $p->{by}{$lim}{real_cost_with_bonuses}, 35, 'real_cost_with_bonuses 35';
            my $ub0 = mkuser('pl_bonus0', bonus => 99);
            $p = plist($ub0, category => 'plb');
            is $p->{by}{$lim}{cost_bonus}, 30, 'discount 0: cost_bonus 30';
            is $p->{by}{$lim}{real_cost_with_bonuses}, 70, 'real_cost_with_bonuses 70';
            is $p->{by}{$lim}{partial_renew}, undef, 'partial_renew null';
        };

        subtest 'filter argument' => sub {
            my $a = mkservice(name => 'Alpha VPS', cost => 300, category => 'plf');
            my $b = mkservice(name => 'Beta VPS', cost => 100, category => 'plf');
            my $c = mkservice(name => 'Gamma web', cost => 200, category => 'plf');
            my $hidden = mkservice(name => 'Hidden VPS', cost => 1, category => 'plf',
                allow_to_order => 0);
            my $u = mkuser('pl_filter');
            my $p = plist($u, filter => '{"name":"%VPS%"}');
            is_deeply $p->{ids}, [ $a, $b ], 'name LIKE %VPS%: orderable only, ascending';
            $p = plist($u, filter => '{"category":"plf","cost":{">":150}}');
            is_deeply $p->{ids}, [ $a, $c ], 'operator map on cost';
            $p = plist($u, category => 'plf', filter => '{"name":"Beta VPS"}');
            is_deeply $p->{ids}, [ $b ], 'category and filter together';
            $p = plist($u, filter => '{"service_id":' . $hidden . '}');
            is_deeply $p->{ids}, [], 'a not orderable service stays out';
            my $r = plist($u, filter => '{"nosuch":1}');
            is $r->{status}, 400, 'unknown filter column: 400';
            like $r->{json}{error}, qr/nosuch/, 'the message names the column';
            $r = plist($u, filter => '[1,2]');
            is $r->{status}, 400, 'a filter that is not an object: 400';
            is $r->{json}{error}, 'Field filter: expected a JSON object', 'message';
        };

        subtest 'order_only_once' => sub {
            my $once = mkservice(cost => 0, category => 'plo', config => { order_only_once => 1 });
            my $u = mkuser('pl_once', balance => 10);
            is_deeply plist($u, category => 'plo')->{ids}, [ $once ], 'listed before';
            my $r = $S->req(PUT => '/shm/v1/admin/service/order', %A,
                json => { user_id => $u, service_id => $once });
            is $r->{status}, 200, 'ordered' or diag $r->{body};
            is_deeply plist($u, category => 'plo')->{ids}, [], 'hidden once charged';
        };

        subtest 'billing.price_list_template_id' => sub {
            my $x = mkservice(cost => 10, category => 'plt');
            my $y = mkservice(cost => 20, category => 'plt', allow_to_order => 0);
            my $z = mkservice(cost => 30, category => 'plt');
            my $gone = mkservice(cost => 40, category => 'plt');
            $r = $S->req(DELETE => '/shm/v1/admin/service', %A, query => { service_id => $gone });
            is $r->{status}, 200, 'one service soft-deleted';
            put_template('price_list', "[$z, $y, $gone, $x, $z]");
            set_config(price_list_template_id => 'price_list');
            my $u = mkuser('pl_tpl');
            my $p = plist($u);
            is_deeply $p->{ids}, [ $z, $y, $x ],
                "the template's order, deleted dropped, not-orderable kept, once each";
            is $p->{by}{$y}{real_cost}, 20, 'priced as usual';
            $p = plist($u, category => 'nothing-matches');
            is_deeply $p->{ids}, [ $z, $y, $x ], 'category does not narrow the template list';

            # the template sees category as a variable
            put_template('price_list', "[{{ IF category == 'x' }}${x}{{ ELSE }}${z}{{ END }}]");
            is_deeply plist($u, category => 'x')->{ids}, [ $x ], 'category variable: x';
            is_deeply plist($u)->{ids}, [ $z ], 'no category: z';

            # orderability (§9 step 1, D16) follows the template list
            put_template('price_list', "[$y]");
            my $sid = $S->login('pl_tpl', 'Password1');
            $r = $S->req(PUT => '/shm/v1/service/order', session => $sid,
                json => { service_id => $y });
            is $r->{status}, 200, 'a template-listed service can be ordered' or diag $r->{body};
            $r = $S->req(PUT => '/shm/v1/service/order', session => $sid,
                json => { service_id => $x });
            is $r->{status}, 403, 'an orderable service outside the template list: 403';
            is $r->{json}{error}, 'The service is prohibited for registration', 'message';

            put_template('price_list', 'not json');
            $r = plist($u);
            is $r->{status}, 400, 'output that is not a JSON array: 400';
            like $r->{json}{error}, qr/price_list_template_id: template price_list must render/,
                'the message names the setting';
            put_template('price_list', '[1, "x"]');
            is plist($u)->{status}, 400, 'a non-id element: 400';

            set_config(price_list_template_id => 'no_such_template');
            $r = plist($u);
            is $r->{status}, 404, 'a missing template: 404';
            is $r->{json}{error}, 'Template no_such_template not found', 'naming the template';

            set_config(price_list_template_id => '');
            is_deeply plist($u, category => 'plt')->{ids}, [ $x, $z ],
                'empty setting: the allow_to_order list again';
        };
        $S->stop;
    };
}

done_testing;
