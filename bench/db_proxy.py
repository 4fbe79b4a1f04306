"""A TCP proxy in front of a database, for faults: it forwards, goes silent, or refuses.

``silent``: connections are still accepted (by this process's kernel, as a dead host behind a
load balancer or a partition would look) and what clients send is read and dropped; nothing
comes back, ever. Connections open before it went silent go silent too. ``refuse``: the port is
closed (connection refused) and open connections are reset. ``forward``: back to normal.

    proxy = DbProxy(5432); proxy.start(); url = ...port=proxy.port...
    proxy.mode = "silent"; ...; proxy.mode = "forward"; proxy.stop()
"""

from __future__ import annotations

import socket
import struct
import threading

__all__ = ["DbProxy"]


class DbProxy:
    def __init__(self, target_port: int, target_host: str = "127.0.0.1"):
        self.target = (target_host, target_port)
        self._mode = "forward"
        self._lock = threading.Lock()
        self._open: set[socket.socket] = set()
        self._listener: socket.socket | None = None
        self.port = 0
        self._stopping = False

    @property
    def mode(self) -> str:
        return self._mode

    @mode.setter
    def mode(self, mode: str) -> None:
        if mode not in ("forward", "silent", "refuse"):
            raise ValueError(mode)
        with self._lock:
            self._mode = mode
            if mode == "refuse":
                self._close_listener()
                for sock in list(self._open):
                    _reset(sock)
                self._open.clear()
            elif self._listener is None and not self._stopping:
                self._listen()

    def start(self) -> DbProxy:
        with self._lock:
            self._listen()
        return self

    def stop(self) -> None:
        with self._lock:
            self._stopping = True
            self._close_listener()
            for sock in list(self._open):
                _reset(sock)
            self._open.clear()

    def _listen(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self.port = listener.getsockname()[1]
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def _close_listener(self) -> None:
        if self._listener is not None:
            try:
                self._listener.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            self._listener.close()
            self._listener = None

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            with self._lock:
                self._open.add(client)
                silent = self._mode != "forward"
            if silent:
                threading.Thread(target=self._drop, args=(client,), daemon=True).start()
                continue
            try:
                upstream = socket.create_connection(self.target, timeout=5)
                upstream.settimeout(None)
            except OSError:
                _reset(client)
                continue
            with self._lock:
                self._open.add(upstream)
            threading.Thread(target=self._pump, args=(client, upstream), daemon=True).start()
            threading.Thread(target=self._pump, args=(upstream, client), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while True:
                data = source.recv(65536)
                if not data:
                    break
                if self._mode != "forward":     # silent: keep reading, pass nothing on
                    continue
                sink.sendall(data)
        except OSError:
            pass
        if self._mode == "forward":
            for sock in (source, sink):
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def _drop(self, client: socket.socket) -> None:
        try:
            while client.recv(65536):
                pass
        except OSError:
            pass


def _reset(sock: socket.socket) -> None:
    try:   # SO_LINGER 0: close with a reset, as a refusing host does
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    except OSError:
        pass
    sock.close()
