"""The students' join page (`/join/{token}`): public, no staff session; its own templates."""
