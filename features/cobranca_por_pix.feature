# language: pt
Funcionalidade: Cobrança por PIX na conversa, confirmada pela recepção
  A clínica cobra o sinal de uma consulta sem precisar de banco ou gateway: o Porfin gera o
  PIX copia e cola da chave da clínica, com o valor, e manda na conversa da paciente junto com
  o QR code. Quando o dinheiro cai na conta, a secretária confirma o pagamento, que fica
  registrado com quem confirmou e quando; um pagamento parcial também fica registrado.

  Contexto:
    Dado que a clínica tem o canal simulador
    E que são 10:00 de 25/11/2026
    E que a paciente Maria (+55 11 98765-4321) escreveu "Oi, como pago o sinal?"

  Cenário: Sem chave PIX a clínica não emite cobranças
    Quando a secretária Ana cobra de Maria R$ 150,00 de "Sinal da consulta"
    Então a cobrança é recusada por falta de chave PIX

  Cenário: Maria recebe o PIX copia e cola e o QR code na conversa
    Dado que a clínica recebe PIX na chave 123.456.789-09 em São Paulo
    Quando a secretária Ana cobra de Maria R$ 150,00 de "Sinal da consulta"
    Então Maria recebe a cobrança de R$ 150,00 com o PIX copia e cola
    E Maria recebe o QR code do PIX

  Cenário: Um pagamento parcial e depois o restante
    Dado que a clínica recebe PIX na chave 123.456.789-09 em São Paulo
    Quando a secretária Ana cobra de Maria R$ 150,00 de "Sinal da consulta"
    E a secretária Ana confirma um pagamento de R$ 50,00
    Então a cobrança está pendente com R$ 50,00 pagos
    Quando são 11:30 de 25/11/2026
    E a secretária Ana confirma o restante
    Então a cobrança está paga, confirmada por Ana às 11:30
    E o registro de transações tem 2 pagamentos somando R$ 150,00
