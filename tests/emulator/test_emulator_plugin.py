"""The opt-in pytest plugin: fixtures that run the emulator for a test."""

from __future__ import annotations

import json

import aiohttp
import pytest
from emulator_helpers import HELLO, TINY_SDL, post, post_sync, sign, tiny_resolvers

from appsync_iam.emulator import AppSyncEmulator

CREATE_ROOM = json.dumps(
    {
        "query": "mutation ($n: String!) { createRoom(input: {name: $n}) { id name } }",
        "variables": {"n": "lobby"},
    }
).encode()


class TestDefaultSchema:
    async def test_fixture_serves_the_chat_sample(
        self, appsync_emulator: AppSyncEmulator, session: aiohttp.ClientSession
    ) -> None:
        """appsync_emulator runs the chat sample; a botocore-signed mutation works."""
        headers = sign(appsync_emulator.url, CREATE_ROOM, appsync_emulator.credentials)
        answer = await post(session, appsync_emulator.url, CREATE_ROOM, headers)
        assert answer.status == 200, answer
        assert answer.json["data"]["createRoom"]["name"] == "lobby"
        assert [op.field for op in appsync_emulator.executed] == ["createRoom"]

    async def test_each_test_gets_a_fresh_emulator(
        self, appsync_emulator: AppSyncEmulator
    ) -> None:
        """The fixture is function-scoped: nothing ran yet in this test's emulator."""
        assert appsync_emulator.executed == []


class TestOverriddenSchema:
    @pytest.fixture
    def appsync_emulator_schema(self) -> str:
        """This class serves TINY_SDL instead of the chat sample."""
        return TINY_SDL

    @pytest.fixture
    def appsync_emulator_resolvers(self) -> dict[str, object]:
        """With the tiny resolvers."""
        return tiny_resolvers()

    async def test_override_schema_and_resolvers(
        self, appsync_emulator: AppSyncEmulator, session: aiohttp.ClientSession
    ) -> None:
        """Overriding appsync_emulator_schema/resolvers changes what is served."""
        headers = sign(appsync_emulator.url, HELLO, appsync_emulator.credentials)
        answer = await post(session, appsync_emulator.url, HELLO, headers)
        assert answer.json == {"data": {"hello": "hello emulator"}}

    def test_thread_fixture_serves_sync_tests(
        self, appsync_emulator_in_thread: AppSyncEmulator
    ) -> None:
        """appsync_emulator_in_thread serves a sync test from a background thread."""
        emulator = appsync_emulator_in_thread
        headers = sign(emulator.url, HELLO, emulator.credentials)
        assert post_sync(emulator.url, HELLO, headers).status == 200
