"""The results store's schema versions: the steps that bring an older store up to
date, one function per backend and version (see channel.store.schema).

1. seekgive 0.1.0's layout with its version recorded: 0.1.0 wrote every table,
   column and index that version 1 holds, so the step changes nothing else.
"""

from channel.store.schema import Versions, record_the_version, record_the_version_in_mongo

CHANNEL = Versions(
    "results",
    "Channel",
    sqlite=(record_the_version,),
    mongo=(record_the_version_in_mongo,),
)
