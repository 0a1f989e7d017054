"""Publishing: what a note's publish and edit mean across the apps, orchestrated above them.

Not a Django app (no models, no migrations): a layer above ``store`` (beside ``privacy``, independent of it) that
composes notes, enforcement and store. ``services`` publishes and edits (the author may post, the text is screened
and a ``review`` held, the product tags written in the note's transaction, around the notes app's own writes);
``api`` holds the publish and edit endpoints, ``views`` the composer, the draft's publish button and the note
page (which shows the tagged products). See docs/architecture.md, "Layers".
"""
