"""The book's own experiment and figure code: one module per page.

A page's name leads to its module: ``book/04_variants.ipynb`` uses
``lstm_ref.chapters.variants``; the applications of chapter 5 live in
``lstm_ref.chapters.applications``.  The reusable models are in
``lstm_ref.numpy`` and ``lstm_ref.torch``, the data in ``lstm_ref.data``.
"""
