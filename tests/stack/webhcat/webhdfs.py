"""A small WebHDFS client (stdlib only): what the stand-in needs to read job scripts and to write
a job's statusdir files, as WebHCat's launcher does through the HDFS client."""
import http.client
import json
import urllib.parse


class WebHdfsError(Exception):
    """HDFS refused a call or could not be reached."""


class WebHdfs:
    def __init__(self, base_url, timeout=30.0):
        u = urllib.parse.urlsplit(base_url)
        if u.scheme != "http" or not u.hostname:
            raise ValueError(f"not an http WebHDFS URL: {base_url}")
        self.host = u.hostname
        self.port = u.port or 80
        self.prefix = u.path.rstrip("/")  # /webhdfs/v1
        self.timeout = timeout

    def _url(self, path, op, user, **params):
        if not path.startswith("/"):
            raise WebHdfsError(f"not an absolute HDFS path: {path}")
        q = {"op": op, "user.name": user}
        q.update({k: str(v).lower() if isinstance(v, bool) else str(v) for k, v in params.items()})
        return self.prefix + urllib.parse.quote(path) + "?" + urllib.parse.urlencode(q)

    def _request(self, method, host, port, url, body=None, headers=None):
        conn = http.client.HTTPConnection(host, port, timeout=self.timeout)
        try:
            conn.request(method, url, body=body, headers=headers or {})
            r = conn.getresponse()
            return r.status, r.getheader("Location"), r.read()
        except (OSError, http.client.HTTPException) as e:
            raise WebHdfsError(f"{method} {host}:{port}: {e}") from e
        finally:
            conn.close()

    @staticmethod
    def _error(status, data, what):
        try:
            exc = json.loads(data)["RemoteException"]
            detail = f"{exc.get('exception')}: {exc.get('message')}"
        except (ValueError, KeyError, TypeError):
            detail = data[:200].decode("utf-8", "replace")
        return WebHdfsError(f"{what}: HTTP {status}: {detail}")

    def status(self, path, user):
        """The FileStatus of path, or None when it does not exist."""
        st, _, data = self._request("GET", self.host, self.port,
                                    self._url(path, "GETFILESTATUS", user))
        if st == 404:
            return None
        if st != 200:
            raise self._error(st, data, f"GETFILESTATUS {path}")
        return json.loads(data)["FileStatus"]

    def mkdirs(self, path, user):
        st, _, data = self._request("PUT", self.host, self.port, self._url(path, "MKDIRS", user))
        if st != 200:
            raise self._error(st, data, f"MKDIRS {path}")

    def create(self, path, user, body):
        """Writes body (bytes or a binary file object) to path, replacing it: the two steps of
        WebHDFS, the NameNode's 307 and the PUT of the data to the DataNode it names."""
        st, loc, data = self._request("PUT", self.host, self.port,
                                      self._url(path, "CREATE", user, overwrite=True))
        if st != 307 or not loc:
            raise self._error(st, data, f"CREATE {path}")
        u = urllib.parse.urlsplit(loc)
        target = u.path + ("?" + u.query if u.query else "")
        st, _, data = self._request("PUT", u.hostname, u.port or 80, target, body=body,
                                    headers={"Content-Type": "application/octet-stream"})
        if st != 201:
            raise self._error(st, data, f"CREATE {path} (DataNode)")

    def read(self, path, user, limit):
        """The content of path (at most limit bytes), following the redirect to the DataNode."""
        st, loc, data = self._request("GET", self.host, self.port,
                                      self._url(path, "OPEN", user, length=limit))
        if st == 307 and loc:
            u = urllib.parse.urlsplit(loc)
            st, _, data = self._request("GET", u.hostname, u.port or 80,
                                        u.path + ("?" + u.query if u.query else ""))
        if st != 200:
            raise self._error(st, data, f"OPEN {path}")
        return data
