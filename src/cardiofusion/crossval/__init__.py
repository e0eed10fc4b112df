"""Grouped, stratified k-fold cross-validation: the train and evaluate stages run once per fold."""
