"""Character n-gram similarity of short messages (robust to typos and missing accents)."""
from typing import List, Sequence

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.metrics.pairwise import cosine_similarity

from trainers.project import normalize_text


def similarity_matrix(texts: Sequence[str]) -> np.ndarray:
    """Pairwise cosine similarity of the texts' character 2-4-gram TF-IDF vectors."""
    if not texts:
        return np.zeros((0, 0))
    normalized = [normalize_text(t) or "-" for t in texts]
    vectorizer = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 4), sublinear_tf=True)
    vectors = vectorizer.fit_transform(normalized)
    return cosine_similarity(vectors)


def group_by_similarity(texts: Sequence[str], threshold: float) -> List[List[int]]:
    """Indices of the texts grouped greedily around leaders, in the order given.

    Each text joins the first group whose leader is at least ``threshold`` similar, otherwise
    it leads a new group. Given texts sorted by frequency, the most asked text leads its group.
    """
    matrix = similarity_matrix(texts)
    groups: List[List[int]] = []
    for index in range(len(texts)):
        for group in groups:
            if matrix[group[0], index] >= threshold:
                group.append(index)
                break
        else:
            groups.append([index])
    return groups
