"""SIVEI key-holders' ceremonies: PKCS#11 tokens, the key-generation ceremony as separate steps
exchanging files, the key check, the signed acts and the vault opening (decryption ceremony).

Reached as ``sivei ceremonia …`` (alias ``ceremony``) through the ``sivei.commands`` entry point.
Everything cryptographic comes from the ``sivei`` library (DKG, envelopes, decryption shares, record,
custody); this package only sequences it for people on separate, possibly air-gapped laptops. See
``docs/ceremony.md`` for the printable guide.

Modules:

- ``common``: output for people, file reading and atomic writing, tokens and PINs, fingerprints.
- ``tokens``: token initialisation and key generation, token inspection.
- ``keygen``: the key-generation ceremony (setup, one step per round per key-holder, coordinator).
- ``keycheck``: "comprobar llave", a proof that the token unseals the share matching K_i.
- ``acts``: drafting, showing, signing and merging the opening and closing acts.
- ``vault``: the decryption ceremony (export, key-holder decryption, combination).
- ``cli``: the ``sivei ceremonia`` commands.
"""
