"""State stores on AWS: the key-value store on S3 (the ``aws`` extra:
``pip install 'beehive-actors[aws]'``).

::

    claims = S3KeyValueStore("my-bucket", prefix="claims/")

Credentials, region and endpoint follow the standard AWS configuration (the credentials chain,
``AWS_REGION``, ``AWS_ENDPOINT_URL_S3``); the bucket must exist. :mod:`beehive.stores.aws._s3`
describes the layout, the etags and the conditional writes.
"""

from __future__ import annotations

from beehive.stores.aws._s3 import S3KeyValueStore

__all__ = ["S3KeyValueStore"]
