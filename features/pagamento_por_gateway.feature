# language: pt
Funcionalidade: Pagamento do sinal por um gateway (Asaas), conferido pelo próprio Porfin
  Quando a clínica cobra por um gateway de pagamento, a secretária não precisa conferir o
  extrato: o gateway cria a cobrança com o PIX copia e cola, o Porfin manda na conversa da
  paciente com o QR code e, quando o dinheiro cai, o gateway avisa pelo webhook. O Porfin
  marca a cobrança como paga, registra o sinal na consulta, move a paciente no funil e
  agradece na conversa, uma vez só.

  Se o aviso do gateway se perder, o Porfin pergunta ao gateway por conta própria, de tempos
  em tempos, até a cobrança ser paga ou vencer. Avisos repetidos não pagam duas vezes, avisos
  com assinatura falsa não mudam nada, e se o gateway estiver fora do ar a cobrança espera e é
  criada depois, uma vez só.

  Contexto:
    Dado que a clínica tem o canal simulador
    E que são 10:00 de 25/11/2026
    E que a paciente Maria (+55 11 98765-4321) escreveu "Oi, como pago o sinal?"
    E que a clínica cobra pelo Asaas
    E que Maria tem uma consulta com a Dra. Beatriz em 02/12/2026 às 14:30

  Cenário: Maria paga o sinal pelo PIX do Asaas e a consulta fica garantida
    Quando a secretária Ana cobra de Maria o sinal de R$ 150,00 da consulta, com o CPF 249.715.637-92
    Então Maria recebe a cobrança de R$ 150,00 com o PIX copia e cola do Asaas
    E Maria recebe o QR code do PIX
    Quando Maria paga o PIX no Asaas
    E o Asaas avisa pelo webhook que a cobrança foi paga
    Então a cobrança está paga
    E o sinal da consulta de Maria está registrado como pago
    E Maria está na etapa "paid" do funil
    E Maria recebe uma só vez "recebemos o seu pagamento de R$ 150,00"
    E a mensagem termina com "Sua consulta de quarta-feira, 2 de dezembro, às 14h30 está garantida."

  Cenário: O webhook do pagamento se perdeu e a consulta periódica encontra o pagamento
    Quando a secretária Ana cobra de Maria o sinal de R$ 150,00 da consulta, com o CPF 249.715.637-92
    E Maria paga o PIX no Asaas, mas o webhook se perde
    Então a cobrança está pendente
    Quando passa 1 minuto
    E o Porfin consulta o Asaas como de costume
    Então a cobrança está paga
    E o registro de transações tem 1 pagamento de R$ 150,00 com origem "poll"
    E o sinal da consulta de Maria está registrado como pago
    E Maria recebe uma só vez "recebemos o seu pagamento de R$ 150,00"

  Cenário: Um webhook com assinatura inválida não muda nada
    Quando a secretária Ana cobra de Maria o sinal de R$ 150,00 da consulta, com o CPF 249.715.637-92
    E chega um webhook dizendo que a cobrança foi paga, com assinatura inválida
    Então o webhook é recusado por credenciais inválidas
    E a cobrança está pendente
    E o registro de transações está vazio
    E o sinal da consulta de Maria não está registrado
    E Maria não recebe "recebemos o seu pagamento"

  Cenário: O mesmo webhook repetido três vezes registra um só pagamento
    Quando a secretária Ana cobra de Maria o sinal de R$ 150,00 da consulta, com o CPF 249.715.637-92
    E Maria paga o PIX no Asaas
    E o Asaas entrega o mesmo webhook do pagamento 3 vezes
    Então a cobrança está paga
    E o registro de transações tem 1 pagamento de R$ 150,00 com origem "webhook"
    E Maria recebe uma só vez "recebemos o seu pagamento de R$ 150,00"

  Cenário: O gateway fora do ar: a cobrança espera e é criada depois, uma só vez
    Dado que o Asaas está fora do ar
    Quando a secretária Ana cobra de Maria o sinal de R$ 150,00 da consulta, com o CPF 249.715.637-92
    Então a cobrança está pendente, à espera do Asaas
    E Maria ainda não recebeu o PIX
    Quando passa 1 minuto
    E o Porfin consulta o Asaas como de costume
    Então a cobrança está pendente, à espera do Asaas
    Quando o Asaas volta ao ar
    E passam 10 minutos
    E o Porfin consulta o Asaas como de costume
    Então o Asaas tem 1 cobrança
    E Maria recebe a cobrança de R$ 150,00 com o PIX copia e cola do Asaas
    E Maria recebe o QR code do PIX
    Quando passam 30 minutos
    E o Porfin consulta o Asaas como de costume
    Então o Asaas tem 1 cobrança
    E Maria recebeu o PIX uma só vez
    E a cobrança está pendente
