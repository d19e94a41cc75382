"""Raw HTTP requests for the fake-service tests: the path goes on the wire exactly as given (no re-encoding),
headers as given (Host too), over http or https (optionally verifying another host name than the one
connected to).  enc() is the SDKs' label encoding."""

import http.client
import json
import socket
import ssl
import urllib.parse


def enc(arn):
    """The SDK label encoding: only A-Za-z0-9-._~ stay."""
    return urllib.parse.quote(arn, safe="-._~")


class Resp:
    def __init__(self, status, headers, body):
        self.status, self.headers, self.body = status, headers, body

    def json(self):
        return json.loads(self.body)

    def header(self, name):
        return self.headers.get(name.lower())


def request(base_url, method, path, headers=None, timeout=10, cafile=None, server_hostname=None):
    u = urllib.parse.urlsplit(base_url)
    if u.scheme == "https":
        ctx = ssl.create_default_context(cafile=cafile)
        conn = http.client.HTTPSConnection(server_hostname or u.hostname, u.port, timeout=timeout, context=ctx)
        if server_hostname:  # connect to 127.0.0.1 but verify server_hostname
            conn.host = server_hostname
            sock = socket.create_connection((u.hostname, u.port), timeout)
            conn.sock = ctx.wrap_socket(sock, server_hostname=server_hostname)
    else:
        conn = http.client.HTTPConnection(u.hostname, u.port, timeout=timeout)
    try:
        conn.putrequest(method, path, skip_accept_encoding=True,
                        skip_host=any(k.lower() == "host" for k, _ in (headers or [])))
        for k, v in (headers or []):
            conn.putheader(k, v)
        conn.endheaders()
        r = conn.getresponse()
        body = r.read()
        return Resp(r.status, {k.lower(): v for k, v in r.getheaders()}, body)
    finally:
        conn.close()
