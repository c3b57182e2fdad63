"""The Gradio chat and admin pages and the rendering of answers into them."""
