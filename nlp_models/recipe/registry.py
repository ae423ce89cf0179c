"""``spacy train --code`` file: registers what the project's training configs name.

The tokenizer callback (``pmlkg.tokenizer.v1``) and the dictionary-feature component
(``pmlkg_dict_features``) live in ``extraction/``; importing them here registers both.
"""

import pmlkg.extraction.ner_features  # noqa: F401
import pmlkg.extraction.tokenizer  # noqa: F401
