"""Madoguchi: a municipality's LINE Official Account as a digital service counter."""
