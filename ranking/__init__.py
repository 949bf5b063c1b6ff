"""Text vectors, topic clusters, duplicate finding, scores and the shortlist (scikit-learn).

Pure computation: imports no other project package.
"""
