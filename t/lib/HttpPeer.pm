package HttpPeer;

# A small HTTP/1.1 server on 127.0.0.1 for transport tests (perl core modules only; the
# process handling is t/lib/TestPeer.pm's). It
# answers according to the request path, records every request as a JSON file in a
# directory, and serves each connection in its own process (so a hanging answer does not
# block the others):
#
#   /status/NNN[/...]  status NNN with the JSON body {"status":NNN}
#   /json[/...]        200 application/json {"ok":1,"hello":"мир","path":…,"method":…}
#   /text[/...]        200 text/plain "plain answer"
#   /hang[/...]        reads the request, then never answers (closed after 60 s)
#   /redirect[/...]    302 to /json
#   anything else      200 application/json: the recorded request itself
#
# A request is recorded as DIR/NNNNNN-PID.json (UTF-8 JSON): {method, target (as on the
# request line, absolute for proxy requests), path, query, headers {lower-case name: value},
# body (the body as text when it is valid UTF-8, else body_base64)}.
#
# From Perl:
#   my $p = HttpPeer->start(dir => $dir);   # forks; returns once listening
#   $p->port; $p->url('/json'); my @reqs = $p->requests; $p->stop;
# From another program (the C unit tests):
#   perl -It/lib -MHttpPeer -e HttpPeer::main -- DIR PORTFILE [--tls 1]
#   (writes the port to PORTFILE once listening; stop it with SIGTERM)
# With tls => 1 (--tls 1) it speaks HTTPS with a self-signed certificate for CN localhost made
# by the openssl command (needs IO::Socket::SSL, Debian libio-socket-ssl-perl).

use strict;
use warnings;

use Encode ();
use MIME::Base64 qw(encode_base64);
use JSON::PP;
use Time::HiRes qw(sleep);
use TestPeer;
use parent -norequire, 'TestPeer';

my $JSON = JSON::PP->new->canonical->utf8;

sub url { "http://127.0.0.1:$_[0]{port}" . ($_[1] // '/') }

# The recorded requests, oldest first.
sub requests { $_[0]->records }

sub main { __PACKAGE__->run_main }

# Reads one request: (method, target, headers, body) or () on EOF.
sub _read_request {
    my ($c) = @_;
    my $buf = '';
    while ($buf !~ /\r\n\r\n/) {
        my $n = sysread($c, $buf, 65536, length $buf);
        return () unless $n;
    }
    my ($head, $rest) = split /\r\n\r\n/, $buf, 2;
    my ($line, @lines) = split /\r\n/, $head;
    my ($method, $target) = split / /, $line;
    my %h;
    for (@lines) {
        my ($k, $v) = /^([^:]+):\s*(.*)$/ or next;
        $h{lc $k} = exists $h{lc $k} ? "$h{lc $k}, $v" : $v;
    }
    my $len = $h{'content-length'} // 0;
    while (length($rest) < $len) {
        my $n = sysread($c, $rest, $len - length $rest, length $rest);
        last unless $n;
    }
    return ($method, $target, \%h, $rest);
}

sub _respond {
    my ($c, $code, $ctype, $body) = @_;
    my %reason = (200 => 'OK', 201 => 'Created', 404 => 'Not Found', 400 => 'Bad Request',
                  500 => 'Internal Server Error', 503 => 'Service Unavailable');
    my $r = $reason{$code} // 'Status';
    print $c "HTTP/1.1 $code $r\r\nContent-Type: $ctype\r\nContent-Length: "
      . length($body) . "\r\nX-Peer: HttpPeer\r\nConnection: close\r\n\r\n$body";
}

sub _connection {
    my ($class, $c, $o, $seq) = @_;
    TestPeer::start_tls($c, $o) or return if $o->{tls};
    my ($method, $target, $h, $body) = _read_request($c);
    return unless $method;
    my ($path, $query) = $target =~ m{^(?:https?://[^/]*)?([^?]*)(?:\?(.*))?$};
    my $rec = { method => $method, target => $target, path => $path, query => $query // '',
                headers => $h };
    my $text = eval { Encode::decode('UTF-8', "$body", Encode::FB_CROAK()) };
    if (defined $text) { $rec->{body} = $text } else { $rec->{body_base64} = encode_base64($body, '') }
    TestPeer::write_record($o, sprintf('%06d-%d', $seq, $$), $rec);
    if ($path =~ m{^/status/(\d{3})}) {
        _respond($c, $1, 'application/json', qq({"status":$1}));
    } elsif ($path =~ m{^/json}) {
        _respond($c, 200, 'application/json; charset=utf-8',
                 $JSON->encode({ ok => 1, hello => "\x{43c}\x{438}\x{440}", path => $path,
                                 method => $method }));
    } elsif ($path =~ m{^/text}) {
        _respond($c, 200, 'text/plain', 'plain answer');
    } elsif ($path =~ m{^/redirect}) {
        print $c "HTTP/1.1 302 Found\r\nLocation: /json\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
    } elsif ($path =~ m{^/hang}) {
        sleep 60;
    } else {
        _respond($c, 200, 'application/json', $JSON->encode($rec));
    }
    close $c;
}

1;
