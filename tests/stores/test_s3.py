"""What the S3 key-value store does beyond the contract suite: large streams in parts, a
prefix, metadata names kept as written, a missing bucket, the Service Bus claim check.

They run on moto's server mode, like the contract suite's ``aws`` backend.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from beehive import Event
from beehive.errors import ConcurrencyConflictError, NotFoundError
from beehive.stores.aws import S3KeyValueStore
from beehive.stores.aws._s3 import PART_SIZE
from tests.moto import Moto
from tests.queues.servicebus_fake import FakeNamespace
from tests.queues.test_servicebus import make_operator
from tests.stores.conftest import AwsBackend


@pytest.fixture
def aws(moto: Moto) -> AwsBackend:
    backend = AwsBackend()
    backend.endpoint_url = moto.endpoint_url
    return backend


def store(aws: AwsBackend, session: object, bucket: str, prefix: str = "") -> S3KeyValueStore:
    return S3KeyValueStore(
        bucket,
        prefix=prefix,
        endpoint_url=aws.endpoint_url,
        region_name="us-east-1",
        session=session,  # type: ignore[arg-type]
    )


async def pieces(total: int, size: int) -> AsyncIterator[bytes]:
    sent = 0
    while sent < total:
        chunk = bytes([sent // size % 256]) * min(size, total - sent)
        sent += len(chunk)
        yield chunk


async def test_a_body_larger_than_a_part_goes_up_in_parts_and_streams_back(
    aws: AwsBackend,
) -> None:
    total = 2 * PART_SIZE + 12_345
    expected = b"".join([chunk async for chunk in pieces(total, 1 << 20)])
    async with aws.bucket() as (session, bucket), store(aws, session, bucket) as blobs:
        etag = await blobs.put("big", pieces(total, 1 << 20), content_type="video/mp4")

        blob = await blobs.get("big")
        streamed = [chunk async for chunk in blobs.stream("big", chunk_size=1 << 20)]

        with pytest.raises(ConcurrencyConflictError):
            await blobs.put("big", pieces(total, 1 << 20), if_none_match="*")

    assert blob.body == expected
    assert blob.etag == etag
    assert blob.content_type == "video/mp4"
    assert b"".join(streamed) == expected
    assert max(len(chunk) for chunk in streamed) == 1 << 20


async def test_a_prefix_keeps_stores_apart_in_one_bucket(aws: AwsBackend) -> None:
    async with (
        aws.bucket() as (session, bucket),
        store(aws, session, bucket, "a/") as a,
        store(aws, session, bucket, "b/") as b,
    ):
        await a.put("k", b"in a")
        await b.put("k", b"in b")
        await b.put("k2", b"")

        assert (await a.get("k")).body == b"in a"
        assert [key async for key in a.list()] == ["k"]
        assert sorted([key async for key in b.list("k")]) == ["k", "k2"]


async def test_metadata_names_keep_their_case(aws: AwsBackend) -> None:
    async with aws.bucket() as (session, bucket), store(aws, session, bucket) as blobs:
        await blobs.put("k", b"v", metadata={"OrderId": "o-1", "order_id": "o-2"})

        assert dict((await blobs.get("k")).metadata) == {"OrderId": "o-1", "order_id": "o-2"}


async def test_the_repr_names_bucket_and_endpoint_and_nothing_connects() -> None:
    from aiobotocore.session import AioSession

    session = AioSession()
    session.set_credentials("testing", "testing")
    async with S3KeyValueStore(
        "never-created", endpoint_url="http://127.0.0.1:9", session=session
    ) as blobs:
        assert "never-created" in repr(blobs)


async def test_a_missing_bucket_says_the_store_never_creates_one(aws: AwsBackend) -> None:
    from aiobotocore.session import AioSession

    session = AioSession()
    session.set_credentials("testing", "testing")
    async with store(aws, session, "no-such-bucket") as blobs:
        with pytest.raises(NotFoundError, match="'no-such-bucket' does not exist"):
            await blobs.get("k")
        with pytest.raises(NotFoundError, match="'no-such-bucket' does not exist"):
            await blobs.put("k", b"v")
        with pytest.raises(NotFoundError, match="'no-such-bucket' does not exist"):
            [key async for key in blobs.list()]


def test_a_prefix_too_long_for_s3_keys_is_refused() -> None:
    with pytest.raises(ValueError, match="prefix"):
        S3KeyValueStore("bucket", prefix="p" * 1024)


async def test_a_long_key_that_the_prefix_pushes_past_s3s_limit_is_refused(
    aws: AwsBackend,
) -> None:
    async with aws.bucket() as (session, bucket), store(aws, session, bucket, "x" * 10) as blobs:
        with pytest.raises(ValueError, match="1024 at most"):
            await blobs.put("🐝" * 255, b"")


async def test_the_store_holds_service_bus_claim_checks(aws: AwsBackend) -> None:
    small = FakeNamespace(max_message_size=2048)
    async with (
        aws.bucket() as (session, bucket),
        store(aws, session, bucket) as claims,
        make_operator(small, claim_check=claims) as operator,
    ):
        await operator.setup_queue("Jobs")
        big = Event(event_type="Job", queue_name="Jobs", body="y" * 10_000)

        await operator.push(big)
        (received,) = await operator.next("Jobs", wait=1)

        assert received.body == big.body
        stored = await claims.get(f"beehive/claim-check/{big.id}")
        assert stored.body == big.body.encode()
