"""The tutor's reply pipeline: one learner message in, one streamed, voiced reply out.

``prompt`` builds what the model reads, ``sentences`` and ``batcher`` shape the stream,
``speaker`` turns finished sentences into stored audio in order, ``reply`` runs one reply,
``usage`` counts and limits what the providers bill, ``jobs`` hands each learner message to
exactly one replica, ``service`` runs the worker and barge-in, ``setup`` wires it in the lifespan.
"""
