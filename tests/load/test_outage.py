"""PostgreSQL outages: dropped connections recover; an unreachable database gets an honest
503 that saves nothing, and the same submission goes through once when it returns."""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import threading

import httpx
import pytest
from sqlalchemy import create_engine, text

from tests.load.conftest import Server
from tests.load.driver import CSRF, SUBMIT, run, run_coroutine
from tests.resident import COMPLETE_ANSWERS

pytestmark = pytest.mark.skipif(
    not os.environ.get("TEST_DATABASE_URL"), reason="PostgreSQL outage runs need TEST_DATABASE_URL"
)


class Proxy:
    """A TCP relay to PostgreSQL that can be cut, as if the database host went away."""

    def __init__(self, target_port: int = 5432) -> None:
        self.target_port = target_port
        self.listener = socket.socket()
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.listener.listen(64)
        self.open = threading.Event()
        self.open.set()
        self.connections: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            client, _ = self.listener.accept()
            if not self.open.is_set():
                client.close()
                continue
            upstream = socket.create_connection(("127.0.0.1", self.target_port))
            self.connections += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for end in (source, sink):
                with contextlib.suppress(OSError):
                    end.close()

    def cut(self) -> None:
        self.open.clear()
        for connection in self.connections:
            try:
                connection.shutdown(socket.SHUT_RDWR)
                connection.close()
            except OSError:
                pass
        self.connections.clear()

    def restore(self) -> None:
        self.open.set()


@pytest.fixture
def postgres_server(tmp_path, load_database):
    url = load_database
    proxy = Proxy()
    proxied = url.replace("127.0.0.1:5432", f"127.0.0.1:{proxy.port}").replace(
        "localhost:5432", f"127.0.0.1:{proxy.port}"
    )
    server = Server(tmp_path, proxied)
    server.prepare()
    server.start()
    yield server, proxy, url
    proxy.restore()
    server.stop()


def test_an_unreachable_database_gets_an_honest_503_then_one_stored_submission(
    postgres_server,
):
    server, proxy, _url = postgres_server

    async def ready_to_submit(client):
        # Walk to the check answers page, then stop before sending.
        start = await client.get("/s/demo")
        response = await client.post(
            "/s/demo/start", data={"csrf_token": CSRF.search(start.text).group(1)}
        )
        while "/q/" in response.headers.get("location", ""):
            location = response.headers["location"]
            page = await client.get(location)
            question = location.rsplit("/q/", 1)[1]
            data = {"csrf_token": CSRF.search(page.text).group(1)}
            if COMPLETE_ANSWERS.get(question):
                data["answer"] = COMPLETE_ANSWERS[question]
            response = await client.post(location, data=data)
        check = await client.get("/s/demo/check-answers")
        return {
            "csrf_token": CSRF.search(check.text).group(1),
            "submit_token": SUBMIT.search(check.text).group(1),
        }

    async def scenario():
        async with httpx.AsyncClient(base_url=server.base, timeout=30) as client:
            form = await ready_to_submit(client)
            proxy.cut()
            refused = await client.post("/s/demo/check-answers", data=form)
            health = await client.get("/healthz")
            proxy.restore()
            await asyncio.sleep(0.5)
            accepted = await client.post("/s/demo/check-answers", data=form)
            again = await client.post("/s/demo/check-answers", data=form)
            return refused, health, accepted, again

    refused, health, accepted, again = run_coroutine(scenario())
    assert refused.status_code == 503
    assert "your answers were not saved" in refused.text.lower()
    assert health.status_code == 503
    assert accepted.status_code == 303 and accepted.headers["location"].endswith("/done")
    assert again.status_code == 303
    assert server.count("SELECT count(*) FROM responses") == 1


@pytest.fixture
def direct_server(tmp_path, load_database):
    """gunicorn connected straight to PostgreSQL."""
    url = load_database
    server = Server(tmp_path, url)
    server.prepare()
    server.start()
    yield server, url
    server.stop()


def test_terminated_connections_are_replaced_and_nothing_is_lost(direct_server):
    server, url = direct_server
    stop = threading.Event()
    admin = create_engine(url.replace("postgresql://", "postgresql+psycopg://"))

    def terminate():
        while not stop.wait(3.0):
            with admin.connect() as connection:
                connection.execute(
                    text(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                        "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                    )
                )
                connection.commit()

    killer = threading.Thread(target=terminate, daemon=True)
    killer.start()
    try:
        tally = run(server.base, 100, 15)
    finally:
        stop.set()
        killer.join()
        admin.dispose()
    print(f"\nwith connections terminated: {tally.summary(15)}")
    assert tally.acknowledged > 0
    assert set(tally.statuses) <= {200, 303, 503}, tally.statuses
    assert server.count("SELECT count(*) FROM responses") == tally.acknowledged
    with httpx.Client(base_url=server.base, timeout=30) as client:
        assert client.get("/healthz").status_code == 200
