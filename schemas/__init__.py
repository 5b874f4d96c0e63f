"""The data contract every service and every subscriber shares.

One Avro schema per topic value (``avro/``), the topic catalog, the codec, and the
few pieces of pipeline logic whose output is itself part of the contract: the
canonical identity forms and the keys derived from them.
"""
