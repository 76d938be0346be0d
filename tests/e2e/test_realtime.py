"""``WS /api/v1/ws``: authentication, subscriptions, every event type, visibility, tenants, and
fan-out between two API instances through Redis.

Every wait is a receive with a timeout. "Nothing arrived" is shown with a barrier: a later
frame the client does get (frames of one connection keep their order), or a ping answered by
the very next frame.
"""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import time
from contextlib import contextmanager

import pytest
from dependency_injector import providers
from litestar.exceptions import WebSocketDisconnect
from litestar.testing import TestClient

import porfin_adapters.container as composition
import porfin_http.controllers.realtime as realtime_protocol
import porfin_http.realtime as realtime_module
from porfin_adapters.container import create_container
from porfin_adapters.settings import Settings, StorageKind
from porfin_core.domain.channel import Channel, Provider
from porfin_core.domain.clinic import Clinic
from porfin_core.ports.auth import Principal
from porfin_core.use_cases.create_staff_user import NewStaffUser
from porfin_http.app import create_app
from porfin_http.realtime import channel_of
from tests.conftest import _redis_answers, _redis_unavailable, _stop
from tests.e2e.conftest import AUTH, FAST_HASHER, TOKEN, simulate
from tests.support import free_port

WAIT = 10.0  # seconds: a bound on waiting for a frame, never a pause
PATH = "/api/v1/ws"
STAFF = {"gerente": "manager", "ana": "secretary", "bia": "secretary"}


def _seed(container, clock):
    """Staff accounts, and a second clinic with its own channel and admin, written before the
    app starts (the test client runs the app on a loop of its own)."""

    async def seed():
        seeder = create_container(container.settings())
        seeder.clock.override(providers.Object(clock))
        seeder.password_hasher.override(providers.Object(FAST_HASHER))
        await composition.start(seeder)
        try:
            clinic_id = (await seeder.set_up_installation()()).clinic.id
            async with seeder.uow_factory()() as uow:
                await uow.clinics.save(Clinic(id="clinic2", name="Outra Clínica"))
                await uow.channels.save(
                    Channel(
                        id="chan2",
                        clinic_id="clinic2",
                        name="Recepção",
                        provider=Provider.SIMULATOR,
                        created_at=clock.now(),
                    )
                )
                await uow.commit()
            accounts = {**STAFF, "outra": "admin"}
            users = {}
            for key, role in accounts.items():
                users[key] = await seeder.create_staff_user()(
                    NewStaffUser(
                        clinic_id="clinic2" if key == "outra" else clinic_id,
                        name=key.title(),
                        email=f"{key}@clinica.com.br",
                        role=role,
                        password="correct horse battery",
                    )
                )
            return users
        finally:
            await composition.stop(seeder)

    return asyncio.run(seed())


@pytest.fixture
def staff(container, clock):
    return _seed(container, clock)


@pytest.fixture
def api(container, staff):
    with TestClient(create_app(container)) as client:
        yield client


@pytest.fixture
def tokens(container, staff, clock):
    def token(key):
        user = staff[key]
        principal = Principal(user.id, user.clinic_id, user.role)
        return container.access_tokens().issue(principal, clock.now()).token

    return token


@pytest.fixture
def channel_id(api):
    return api.get("/api/v1/channels", headers=AUTH).json()[0]["id"]


# -- helpers ----------------------------------------------------------------------------------


@contextmanager
def connected(client, token=TOKEN, *, inbox=True):
    """A ready WebSocket client (subscribed to the inbox unless told otherwise)."""
    with client.websocket_connect(PATH, headers={"Authorization": f"Bearer {token}"}) as ws:
        assert ws.receive_json(timeout=WAIT)["type"] == "ready"
        if inbox:
            assert command(ws, "subscribe", topic="inbox")["type"] == "subscribed"
        yield ws


def command(ws, action, **fields):
    ws.send_json({"action": action, **fields})
    return ws.receive_json(timeout=WAIT)


def frames(ws, *types):
    """The next frames, which must be of ``types`` in this order."""
    received = [ws.receive_json(timeout=WAIT) for _ in types]
    assert [f["type"] for f in received] == list(types), received
    return received


def nothing_pending(ws):
    """The next frame answers a ping: nothing was waiting for this client."""
    assert command(ws, "ping", ref="barrier") == {"type": "pong", "ref": "barrier"}


def closed_with(ws):
    with pytest.raises(WebSocketDisconnect) as closed:
        for _ in range(10):
            ws.receive_json(timeout=WAIT)
    return closed.value.code


def bearer(token):
    return {"Authorization": f"Bearer {token}"}


def new_chat(api, channel_id, sender="+5511987654321", message_id="sim-1", text="Olá"):
    answer = simulate(api, channel_id, text=text, sender=sender, message_id=message_id)
    assert answer.status_code == 200, answer.text
    return answer.json()["chat_id"]


# -- authentication ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer wrong-token"}, {"Authorization": "Basic dGVzdA=="}],
    ids=["no-token", "bad-token", "not-bearer"],
)
def test_a_connection_without_a_valid_token_is_closed_4401(api, headers):
    with api.websocket_connect(PATH, headers=headers) as ws:
        if not headers.get("Authorization", "").startswith("Bearer"):
            ws.send_json({"action": "subscribe", "topic": "inbox"})  # not an auth message
        assert closed_with(ws) == 4401


def test_browsers_authenticate_with_their_first_message(api, tokens, staff):
    with api.websocket_connect(PATH) as ws:
        ws.send_json({"action": "auth", "token": tokens("ana")})
        ready = ws.receive_json(timeout=WAIT)
        assert ready == {
            "type": "ready",
            "user_id": staff["ana"].id,
            "clinic_id": staff["ana"].clinic_id,
            "role": "secretary",
        }
    with api.websocket_connect(PATH) as ws:
        ws.send_json({"action": "auth", "token": "not-a-token"})
        assert closed_with(ws) == 4401


def test_an_expired_token_is_refused(api, container, staff, clock):
    user = staff["ana"]
    old = container.access_tokens().issue(
        Principal(user.id, user.clinic_id, user.role), clock.advance(minutes=-16)
    )
    clock.advance(minutes=16)
    with api.websocket_connect(PATH, headers=bearer(old.token)) as ws:
        assert closed_with(ws) == 4401


def test_no_auth_message_in_time_closes_4401(api, monkeypatch):
    monkeypatch.setattr(realtime_protocol, "AUTH_TIMEOUT_SECONDS", 0.05)
    with api.websocket_connect(PATH) as ws:
        assert closed_with(ws) == 4401


def test_a_token_expiring_during_the_connection_closes_it_unless_renewed(api, tokens, clock):
    with connected(api, tokens("ana")) as ws:
        clock.advance(minutes=10)
        renewed = command(ws, "auth", token=tokens("ana"), ref="r1")
        assert (renewed["type"], renewed["ref"]) == ("authenticated", "r1")
        clock.advance(minutes=10)  # the first token has expired, the renewed one has not
        nothing_pending(ws)
        clock.advance(minutes=6)
        ws.send_json({"action": "ping"})
        assert closed_with(ws) == 4401


def test_the_keepalive_also_notices_an_expired_token(api, tokens, clock, monkeypatch):
    monkeypatch.setattr(realtime_protocol, "KEEPALIVE_SECONDS", 0.05)
    with connected(api, tokens("gerente"), inbox=False) as ws:
        assert ws.receive_json(timeout=WAIT) == {"type": "ping"}
        clock.advance(minutes=16)
        assert closed_with(ws) == 4401


def test_a_renewed_token_must_be_the_same_users(api, tokens):
    with connected(api, tokens("ana")) as ws:
        ws.send_json({"action": "auth", "token": tokens("bia")})
        assert closed_with(ws) == 4403


def test_bad_commands_get_an_error_and_the_connection_stays(api):
    with connected(api, inbox=False) as ws:
        for bad in (
            "not json",
            {"action": "dance"},
            {"action": "subscribe", "topic": "chat"},  # no chat_id
            {"action": "subscribe", "topic": "inbox", "chat_id": "x"},
        ):
            ws.send_json(bad) if isinstance(bad, dict) else ws.send_text(bad)
            error = ws.receive_json(timeout=WAIT)
            assert (error["type"], error["code"]) == ("error", "bad_request"), error
        nothing_pending(ws)
        ws.send_text("x" * 5000)
        assert closed_with(ws) == 1009


# -- events -----------------------------------------------------------------------------------


def test_the_inbox_gets_new_chats_and_messages_as_the_rest_api_shows_them(api, channel_id):
    with connected(api) as ws:
        chat_id = new_chat(api, channel_id, text="Queria marcar uma limpeza")
        opened, created = frames(ws, "chat.updated", "message.created")
    chat = api.get(f"/api/v1/chats/{chat_id}", headers=AUTH).json()
    message = api.get(f"/api/v1/chats/{chat_id}/messages", headers=AUTH).json()["items"][0]
    assert opened["data"] == {"chat": chat, "change": "opened"}
    assert created["chat_id"] == chat_id
    assert created["assignee_id"] is None
    assert created["data"] == {"message": message, "chat": chat}
    assert message["body"] == "Queria marcar uma limpeza"


def test_sending_and_delivery_status_reach_a_chat_subscriber(api, channel_id):
    chat_id = new_chat(api, channel_id)
    with connected(api, inbox=False) as ws:
        subscribed = command(ws, "subscribe", topic="chat", chat_id=chat_id, ref="c1")
        assert (subscribed["type"], subscribed["chat_id"], subscribed["ref"]) == (
            "subscribed",
            chat_id,
            "c1",
        )
        assert subscribed["chat"]["id"] == chat_id
        sent = api.post(
            f"/api/v1/chats/{chat_id}/messages", json={"text": "Bom dia!"}, headers=AUTH
        )
        assert sent.status_code == 201
        mode, assigned, created, status = frames(
            ws, "chat.updated", "chat.assigned", "message.created", "message.status"
        )
        assert (mode["data"]["change"], mode["data"]["chat"]["mode"]) == ("mode_changed", "human")
        assert assigned["data"]["chat"]["assignee_id"] == "admin"
        assert assigned["previous_assignee_id"] is None
        assert created["data"]["message"]["body"] == "Bom dia!"
        assert status["data"]["message"]["status"] == "sent"
        assert status["data"] == {"message": sent.json()}

        provider_id = sent.json()["provider_message_id"]
        answer = api.post(
            f"/webhooks/simulator/{channel_id}",
            json={"status": {"id": provider_id, "status": "delivered"}},
            headers=AUTH,
        )
        assert answer.json()["applied"]
        (delivered,) = frames(ws, "message.status")
        assert delivered["data"]["message"]["status"] == "delivered"
        assert [h["status"] for h in delivered["data"]["message"]["history"]] == [
            "pending",
            "sent",
            "delivered",
        ]

        # Another chat's events are not this subscriber's; this chat's next one is.
        new_chat(api, channel_id, sender="+5521999998888", message_id="sim-2")
        new_chat(api, channel_id, message_id="sim-3", text="Obrigada")
        (again,) = frames(ws, "message.created")
        assert (again["chat_id"], again["data"]["message"]["body"]) == (chat_id, "Obrigada")


def test_chat_changes_reach_the_inbox(api, channel_id, staff):
    chat_id = new_chat(api, channel_id)
    with connected(api) as ws:
        url = f"/api/v1/chats/{chat_id}"
        assert api.patch(url, json={"assignee_id": staff["ana"].id}, headers=AUTH).is_success
        (assigned,) = frames(ws, "chat.assigned")
        assert (assigned["assignee_id"], assigned["previous_assignee_id"]) == (
            staff["ana"].id,
            None,
        )
        assert assigned["data"]["chat"]["assignee_id"] == staff["ana"].id
        assert api.patch(url, json={"read": True}, headers=AUTH).is_success
        (read,) = frames(ws, "chat.updated")
        assert (read["data"]["change"], read["data"]["chat"]["unread_count"]) == ("read", 0)
        assert api.patch(url, json={"status": "closed"}, headers=AUTH).is_success
        (closed,) = frames(ws, "chat.updated")
        assert (closed["data"]["change"], closed["data"]["chat"]["status"]) == ("closed", "closed")
        new_chat(api, channel_id, message_id="sim-2", text="Voltei")
        reopened, _ = frames(ws, "chat.updated", "message.created")
        assert reopened["data"]["change"] == "reopened"
        unsubscribed = command(ws, "unsubscribe", topic="inbox")
        assert unsubscribed == {"type": "unsubscribed", "topic": "inbox"}
        new_chat(api, channel_id, message_id="sim-3")
        nothing_pending(ws)


def test_frames_carry_when_a_chat_began_to_wait_for_a_person(api, channel_id):
    chat_id = new_chat(api, channel_id)
    with connected(api) as ws:
        url = f"/api/v1/chats/{chat_id}"
        assert api.patch(url, json={"mode": "human"}, headers=AUTH).is_success
        (handed,) = frames(ws, "chat.updated")
        waiting_since = handed["data"]["chat"]["waiting_since"]
        assert waiting_since is not None
        assert api.get(url, headers=AUTH).json()["waiting_since"] == waiting_since
        new_chat(api, channel_id, message_id="sim-2", text="Alguém aí?")
        (written,) = frames(ws, "message.created")
        assert written["data"]["chat"]["waiting_since"] == waiting_since  # still the first
        assert api.post(f"{url}/messages", json={"text": "Oi!"}, headers=AUTH).is_success
        _, answered = frames(ws, "chat.assigned", "message.created")
        assert answered["data"]["chat"]["waiting_since"] is None


# -- who sees what ----------------------------------------------------------------------------


def test_a_secretary_gets_only_her_chats_and_the_unassigned_queue(api, channel_id, staff, tokens):
    ana, bia = staff["ana"].id, staff["bia"].id
    with connected(api, tokens("ana")) as ana_ws, connected(api, tokens("bia")) as bia_ws:
        chat_id = new_chat(api, channel_id)
        frames(ana_ws, "chat.updated", "message.created")  # unassigned: everyone's queue
        frames(bia_ws, "chat.updated", "message.created")

        as_manager = bearer(tokens("gerente"))
        url = f"/api/v1/chats/{chat_id}"
        assert api.patch(url, json={"assignee_id": bia}, headers=as_manager).is_success
        (hidden,) = frames(ana_ws, "chat.hidden")
        assert hidden == {"type": "chat.hidden", "chat_id": chat_id}  # nothing more said
        (assigned,) = frames(bia_ws, "chat.assigned")
        assert assigned["data"]["chat"]["assignee_id"] == bia

        new_chat(api, channel_id, message_id="sim-2", text="Só para a Bia")
        other = new_chat(api, channel_id, sender="+5521999998888", message_id="sim-3")
        # Bia's chat message never reached Ana: her next frame is the new unassigned chat's.
        opened, _ = frames(ana_ws, "chat.updated", "message.created")
        assert opened["chat_id"] == other
        (for_bia,) = frames(bia_ws, "message.created")
        assert for_bia["data"]["message"]["body"] == "Só para a Bia"

        refused = command(ana_ws, "subscribe", topic="chat", chat_id=chat_id)
        assert refused == {
            "type": "error",
            "code": "not_found",
            "detail": "chat not found",
            "chat_id": chat_id,
        }

        assert api.patch(url, json={"assignee_id": ana}, headers=as_manager).is_success
        (mine,) = frames(ana_ws, "chat.assigned")
        assert (mine["assignee_id"], mine["previous_assignee_id"]) == (ana, bia)
        assert mine["data"]["chat"]["id"] == chat_id


def test_another_clinic_never_gets_our_events(api, channel_id, tokens, staff):
    with connected(api) as ours, connected(api, tokens("outra")) as theirs:
        chat_id = new_chat(api, channel_id)
        frames(ours, "chat.updated", "message.created")
        nothing_pending(theirs)
        refused = command(theirs, "subscribe", topic="chat", chat_id=chat_id)
        assert (refused["type"], refused["code"]) == ("error", "not_found")

        # Their own clinic's events do reach them, and not us.
        their_chat = new_chat(api, "chan2", message_id="sim-2")
        opened, _ = frames(theirs, "chat.updated", "message.created")
        assert (opened["clinic_id"], opened["chat_id"]) == ("clinic2", their_chat)
        nothing_pending(ours)
        refused = command(ours, "subscribe", topic="chat", chat_id=their_chat)
        assert (refused["type"], refused["code"]) == ("error", "not_found")


# -- two instances, one Redis -----------------------------------------------------------------


def test_an_event_on_one_instance_reaches_a_client_of_another_through_redis(
    tmp_path, clock, redis_url
):
    settings = Settings(
        storage=StorageKind.SQLITE, data_dir=tmp_path, admin_token=TOKEN, redis_url=redis_url
    )
    instances = [create_container(settings) for _ in range(2)]
    for instance in instances:
        instance.clock.override(providers.Object(clock))
    with (
        TestClient(create_app(instances[0])) as api_a,
        TestClient(create_app(instances[1])) as api_b,
    ):
        channel_id = api_a.get("/api/v1/channels", headers=AUTH).json()[0]["id"]
        with connected(api_b) as on_b, connected(api_a) as on_a:
            chat_id = new_chat(api_a, channel_id, text="Chegou pelo A")
            for ws in (on_b, on_a):
                _, created = frames(ws, "chat.updated", "message.created")
                assert created["chat_id"] == chat_id
                assert created["data"]["message"]["body"] == "Chegou pelo A"
            # ...and the other way round.
            answer = api_b.patch(f"/api/v1/chats/{chat_id}", json={"mode": "human"}, headers=AUTH)
            assert answer.is_success
            for ws in (on_a, on_b):
                (changed,) = frames(ws, "chat.updated")
                assert changed["data"]["chat"]["mode"] == "human"


@pytest.mark.slow
def test_the_fan_out_outlives_a_redis_restart(tmp_path, clock, monkeypatch):
    """Redis goes away and comes back on the same port: frames flow again, without restarting
    the app or the WebSocket connection."""
    import redis

    monkeypatch.setattr(realtime_module, "REDIS_RETRY_SECONDS", 0.05)
    with restartable_redis(tmp_path) as server:
        settings = Settings(
            storage=StorageKind.SQLITE, data_dir=tmp_path, admin_token=TOKEN, redis_url=server.url
        )
        container = create_container(settings)
        container.clock.override(providers.Object(clock))
        with TestClient(create_app(container)) as api, connected(api) as ws:
            channel_id = api.get("/api/v1/channels", headers=AUTH).json()[0]["id"]
            new_chat(api, channel_id, message_id="sim-1")
            frames(ws, "chat.updated", "message.created")

            server.restart()
            # Pub/Sub keeps nothing: wait until this instance has subscribed again.
            probe = redis.Redis.from_url(server.url)
            try:
                deadline = time.monotonic() + WAIT
                while probe.pubsub_numsub(channel_of(ws_clinic(api)))[0][1] < 1:
                    assert time.monotonic() < deadline, "the app never subscribed again"
                    time.sleep(0.02)
            finally:
                probe.close()
            new_chat(api, channel_id, message_id="sim-2", text="De volta")
            (created,) = frames(ws, "message.created")
            assert created["data"]["message"]["body"] == "De volta"


def ws_clinic(api):
    return api.app.state.clinic_id


class RestartableRedis:
    """A private redis-server that can be stopped and started again on the same port."""

    def __init__(self, binary: str, log_path) -> None:
        self.binary = binary
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.log_path = log_path
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log_path.open("ab") as out:
            self.proc = subprocess.Popen(
                [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", ""],
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + WAIT
        while not _redis_answers(self.url):
            assert self.proc.poll() is None, self.log_path.read_text()
            assert time.monotonic() < deadline, "redis-server did not answer"
            time.sleep(0.02)

    def stop(self) -> None:
        if self.proc is not None:
            _stop(self.proc)
            self.proc = None

    def restart(self) -> None:
        self.stop()
        self.start()


@contextmanager
def restartable_redis(tmp_path):
    binary = shutil.which("redis-server")
    if binary is None:
        _redis_unavailable("the restart test needs the `redis-server` binary on PATH")
    server = RestartableRedis(binary, tmp_path / "redis.log")
    server.start()
    try:
        yield server
    finally:
        server.stop()


def test_a_disabled_account_s_connection_is_closed_at_its_next_command(api, tokens, staff, clock):
    with connected(api, tokens("ana")) as ws:
        disabled = api.patch(
            f"/api/v1/users/{staff['ana'].id}", json={"active": False}, headers=AUTH
        )
        assert disabled.status_code == 200, disabled.text
        clock.advance(seconds=5)  # the account check's cache
        ws.send_json({"action": "ping"})
        assert closed_with(ws) == 4401
