"""Sign in (the only page before sign-in; other pages opened by URL show the same form)."""

from ui.sign_in_form import render

render()
