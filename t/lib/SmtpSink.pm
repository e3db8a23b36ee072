package SmtpSink;

# A small SMTP receiver on 127.0.0.1 for mail transport tests (perl core modules only; the
# process handling is t/lib/TestPeer.pm's).
# EHLO/HELO, optional AUTH PLAIN / AUTH LOGIN, MAIL, RCPT, DATA, RSET, NOOP, QUIT, and
# optionally TLS (STARTTLS or implicit, with a self-signed certificate made by the openssl
# command; needs IO::Socket::SSL, Debian libio-socket-ssl-perl). Each accepted message is
# recorded as DIR/NNNNNN-PID-N.json (UTF-8 JSON):
#
#   { helo, tls (1 when the session was encrypted), auth: {mech, user, password} | null,
#     from, rcpt: [...],
#     data (the raw message, CR LF kept, dot-unstuffed),
#     headers: {lower-case name: unfolded raw value},     (last one wins)
#     subject, from_header, to_header, cc_header: the header values decoded with
#       Encode's MIME-Header decoder (an independent RFC 2047 implementation),
#     body: the body decoded (base64 when so declared) as UTF-8 text }
#
# Options (key => value to start, or --key value to main):
#   user, password   require AUTH with these credentials (535 otherwise; MAIL without
#                    AUTH gets 530)
#   mechs            the AUTH mechanisms advertised, default "PLAIN LOGIN"
#   tls              "starttls" (advertised, required before MAIL) or "implicit" (TLS from
#                    the first byte, as on port 465)
#   Recipients whose local part starts with "reject" get "550 5.1.1 No such user",
#   with "busy" get "451 4.3.0 Try again later".
#
# From Perl:   my $s = SmtpSink->start(dir => $d, user => 'u', password => 'p');
#              $s->port; my @msgs = $s->messages; $s->stop;
# From C:      perl -It/lib -MSmtpSink -e SmtpSink::main -- DIR PORTFILE [--user U ...]

use strict;
use warnings;

use Encode ();
use MIME::Base64 qw(decode_base64);
use TestPeer;
use parent -norequire, 'TestPeer';

# The recorded messages, oldest first.
sub messages { $_[0]->records }

sub main { __PACKAGE__->run_main }

sub _line {
    my ($c) = @_;
    my $l = <$c>;
    return undef unless defined $l;
    $l =~ s/\r?\n\z//;
    return $l;
}

# AUTH PLAIN [initial] / AUTH LOGIN [initial]: returns {mech, user, password} or undef.
sub _auth {
    my ($c, $mech, $initial) = @_;
    $mech = uc $mech;
    if ($mech eq 'PLAIN') {
        if (!defined $initial || $initial eq '') { print $c "334 \r\n"; $initial = _line($c) // '' }
        my (undef, $user, $pw) = split /\0/, decode_base64($initial), 3;
        return { mech => 'PLAIN', user => $user // '', password => $pw // '' };
    }
    if ($mech eq 'LOGIN') {
        my $user;
        if (defined $initial && $initial ne '') { $user = decode_base64($initial) }
        else { print $c "334 VXNlcm5hbWU6\r\n"; $user = decode_base64(_line($c) // '') }
        print $c "334 UGFzc3dvcmQ6\r\n";
        my $pw = decode_base64(_line($c) // '');
        return { mech => 'LOGIN', user => $user, password => $pw };
    }
    return undef;
}

sub _connection {
    my ($class, $c, $o, $seq) = @_;
    $c->autoflush(1);
    my $mechs = $o->{mechs} // 'PLAIN LOGIN';
    my ($helo, $auth, $from, @rcpt, $authed, $tls);
    my $n = 0;
    my $mode = $o->{tls} // '';
    if ($mode eq 'implicit') {
        TestPeer::start_tls($c, $o) or return;
        $tls = 1;
    }
    print $c "220 sink.test ESMTP SmtpSink\r\n";
    while (defined(my $l = _line($c))) {
        if ($l =~ /^(EHLO|HELO)\s*(.*)$/i) {
            $helo = $2;
            if (uc $1 eq 'HELO') { print $c "250 sink.test\r\n"; next }
            print $c "250-sink.test\r\n250-SIZE 10485760\r\n250-8BITMIME\r\n";
            print $c "250-STARTTLS\r\n" if $mode eq 'starttls' && !$tls;
            print $c "250-AUTH $mechs\r\n" if $mechs ne '';
            print $c "250 HELP\r\n";
        } elsif ($l =~ /^STARTTLS$/i && $mode eq 'starttls' && !$tls) {
            print $c "220 2.0.0 Ready to start TLS\r\n";
            TestPeer::start_tls($c, $o) or last;
            ($tls, $helo, $auth, $authed) = (1);
        } elsif ($l =~ /^AUTH\s+(\S+)(?:\s+(\S+))?$/i) {
            $auth = _auth($c, $1, $2);
            if (!$auth) { print $c "504 5.5.4 Unrecognized authentication type\r\n"; next }
            if (defined $o->{user}
                && ($auth->{user} ne $o->{user} || $auth->{password} ne ($o->{password} // ''))) {
                print $c "535 5.7.8 Authentication credentials invalid\r\n";
                next;
            }
            $authed = 1;
            print $c "235 2.7.0 Authentication successful\r\n";
        } elsif ($l =~ /^MAIL FROM:\s*<([^>]*)>/i) {
            if (defined $o->{user} && !$authed) { print $c "530 5.7.0 Authentication required\r\n"; next }
            if ($mode eq 'starttls' && !$tls) { print $c "530 5.7.0 Must issue a STARTTLS command first\r\n"; next }
            ($from, @rcpt) = ($1);
            print $c "250 2.1.0 Ok\r\n";
        } elsif ($l =~ /^RCPT TO:\s*<([^>]*)>/i) {
            my $a = $1;
            if ($a =~ /^reject/i) { print $c "550 5.1.1 <$a>: No such user\r\n"; next }
            if ($a =~ /^busy/i) { print $c "451 4.3.0 Try again later\r\n"; next }
            push @rcpt, $a;
            print $c "250 2.1.5 Ok\r\n";
        } elsif ($l =~ /^DATA$/i) {
            print $c "354 End data with <CR><LF>.<CR><LF>\r\n";
            my $data = '';
            while (defined(my $d = <$c>)) {
                last if $d eq ".\r\n" || $d eq ".\n";
                $d =~ s/^\.//;
                $data .= $d;
            }
            _record($o, $seq, ++$n, { helo => $helo, tls => $tls ? 1 : 0, auth => $auth, from => $from,
                                             rcpt => [@rcpt], data => $data });
            print $c "250 2.0.0 Ok: queued\r\n";
        } elsif ($l =~ /^RSET$/i) {
            ($from, @rcpt) = ();
            print $c "250 2.0.0 Ok\r\n";
        } elsif ($l =~ /^NOOP/i) {
            print $c "250 2.0.0 Ok\r\n";
        } elsif ($l =~ /^QUIT$/i) {
            print $c "221 2.0.0 Bye\r\n";
            last;
        } else {
            print $c "502 5.5.2 Command not recognized\r\n";
        }
    }
    close $c;
}

# Splits the message, decodes what the tests look at and writes the record.
sub _record {
    my ($o, $seq, $n, $rec) = @_;
    my ($head, $body) = split /\r?\n\r?\n/, $rec->{data}, 2;
    $head =~ s/\r?\n[ \t]+/ /g;    # unfold
    my %h;
    for (split /\r?\n/, $head) {
        my ($k, $v) = /^([^:]+):\s*(.*)$/ or next;
        $h{lc $k} = $v;
    }
    my $dec = sub { defined $_[0] ? Encode::decode('MIME-Header', $_[0]) : undef };
    $rec->{headers}     = \%h;
    $rec->{subject}     = $dec->($h{subject});
    $rec->{from_header} = $dec->($h{from});
    $rec->{to_header}   = $dec->($h{to});
    $rec->{cc_header}   = $dec->($h{cc});
    $body //= '';
    $body = decode_base64($body) if ($h{'content-transfer-encoding'} // '') =~ /base64/i;
    $rec->{body} = Encode::decode('UTF-8', $body);
    $rec->{data} = Encode::decode('UTF-8', $rec->{data});
    TestPeer::write_record($o, sprintf('%06d-%d-%d', $seq, $$, $n), $rec);
}

1;
