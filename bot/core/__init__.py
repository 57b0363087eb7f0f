"""The kernel: what every layer may use, and which imports nothing else of Sanal.

Messages and channels as values, time and its wording, settings, phone numbers, the
Latin/Cyrillic transliteration, SMS segments, the message catalogs and the grammar that
reads what people write. Nothing here touches a database, a provider or the network;
tests/test_layers.py keeps it so.
"""
