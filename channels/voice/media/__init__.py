"""Our own listening on live calls: Twilio Media Streams, served by an asyncio media service.

Layers: ``protocol`` (Twilio's frames to small events and back, mu-law), ``token`` (the stream's
short-lived token), ``loop`` (one stream: play, listen, barge-in, keys, end of speech), ``vad``
(voice activity, keypad tones), ``engine`` (the recognition interface) and ``vosk_engine`` (Vosk
behind it), ``answers`` (the answer left for ``/voice/turn`` in the shared store) and ``service``
(the websocket server).
"""
